using OfflineKit;
using OfflineKit.Cli;

Timing.Mark("main");

CliApp.StartWarmUps(args);
var t = Timing.Start();
var console = CliConsole.System;
Timing.Mark("console", t);
var code = await CliApp.RunAsync(args, console).ConfigureAwait(false);
Timing.Mark($"exit; GC: {GC.GetTotalAllocatedBytes() / 1e6:F0} MB allocated, {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections, {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms paused");
return code;
