using OfflineKit;
using OfflineKit.Cli;

Timing.Mark("main");

// Nearly every command reads the embedded catalogs (the --k8s help names the versions): parsed on the
// second core while the console and the command line are set up, instead of after.
_ = Task.Run(() => (OfflineKit.Images.VersionCatalog.Embedded, OfflineKit.Catalog.ReleaseCatalog.Embedded));
var t = Timing.Start();
var console = CliConsole.System;
Timing.Mark("console", t);
var code = await CliApp.RunAsync(args, console).ConfigureAwait(false);
Timing.Mark($"exit; GC: {GC.GetTotalAllocatedBytes() / 1e6:F0} MB allocated, {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections, {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms paused");
return code;
