using OfflineKit;
using OfflineKit.Cli;

Timing.Mark("main");
var t = Timing.Start();
var console = CliConsole.System;
Timing.Mark("console", t);
var code = await CliApp.RunAsync(args, console).ConfigureAwait(false);
Timing.Mark("exit");
return code;
