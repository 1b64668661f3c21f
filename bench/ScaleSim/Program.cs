// ScaleSim HOSTS pushed|site [WORKDIR]
// The install's planner and step scheduler, in this one process, against HOSTS simulated hosts: the real
// InstallPlanner.Plan and InstallExecutor.RunAsync (waves, turns, journals read, logs written, pushes read
// from a real bundle), with an in-memory IRemoteConnector in place of SSH that answers every command as
// a healthy EL8 host would (facts, the join command, the offline check). Prints one line of figures: the
// plan's time, the run's time, bytes the hosts were sent (every upload and every command line, as SSH
// would carry them; the most any one non-depot host was sent), and this process's peak RSS (VmHWM).
// The bundle is shaped like the real 1.23 one in size (~545 MB: image archives and RPMs of zeros, written
// once per WORKDIR); a simulated host counts an upload's length without reading the bytes.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OfflineKit.Bundle;
using OfflineKit.Install;
using OfflineKit.Install.Ssh;
using OfflineKit.Scripts;

if (args.Length < 2 || !int.TryParse(args[0], out var count) || count < 2 || args[1] is not ("pushed" or "site"))
{
    Console.Error.WriteLine("usage: ScaleSim HOSTS(>=2) pushed|site [WORKDIR]");
    return 2;
}

var site = args[1] == "site";
var work = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), $"offlinekit-scalesim-{Environment.ProcessId}");
Directory.CreateDirectory(work);
var bundlePath = Path.Combine(work, "offlinekit-k8s-1.23.0-el8-amd64.tar");
if (!File.Exists(bundlePath))
{
    await WriteBundleAsync(work);
}

var bundle = await LocalBundle.OpenAsync(bundlePath);
var inventoryText = new StringBuilder("apiVersion: offlinekit/v1\nkind: Inventory\ndefaults:\n  auth: {passwordEnv: SIM_PW}\nhosts:\n");
inventoryText.Append("  - {name: cp, address: 10.1.0.1, roles: [control-plane]}\n");
for (var i = 1; i < count; i++)
{
    inventoryText.Append(CultureInfo.InvariantCulture, $"  - {{name: w{i:0000}, address: 10.{2 + (i / 250)}.{i % 250 / 250}.{1 + (i % 250)}, roles: [worker]}}\n");
}

if (site)
{
    inventoryText.Append("cluster:\n  sources: site\n");
}

var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
var clock = Stopwatch.StartNew();
var inventory = InventoryLoader.Parse(inventoryText.ToString(), "sim-inventory.yaml", work);
var plan = InstallPlanner.Plan(inventory, bundle.Contents, "abcdef.0123456789abcdef");
var describe = plan.Describe().Length;
var planTime = clock.Elapsed;

var hosts = new SimulatedHosts();
var runs = Path.Combine(work, "runs");
clock.Restart();
var report = await InstallExecutor.RunAsync(plan, bundle, hosts, new ExecutorOptions { Parallel = 10, RunDirectory = InstallExecutor.NewRunDirectory(runs, DateTimeOffset.UtcNow) });
var runTime = clock.Elapsed;
var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
var steps = report.Hosts.Sum(h => h.StepsDone);
var depot = site ? new SiteSupply(inventory).Depot.Name : null;
var nodes = hosts.BytesByHost.Where(kv => kv.Key != depot).Select(kv => kv.Value).DefaultIfEmpty(0).ToList();
var notDone = report.Hosts.Where(h => h.Outcome != HostOutcome.Done).ToList();
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"hosts={count} mode={args[1]} plan_s={planTime.TotalSeconds:0.000} dryrun_chars={describe} run_s={runTime.TotalSeconds:0.000} steps={steps} waves={report.Waves.Count} sent_bytes={hosts.BytesSent} node_bytes_max={nodes.Max()} node_bytes_min={nodes.Min()} bundle_bytes={new FileInfo(bundlePath).Length} peak_rss_mb={PeakRssMb():0.0} heap_growth_mb={(heapAfter - heapBefore) / 1048576.0:0.0} not_done={notDone.Count}"));
foreach (var h in notDone.Take(3))
{
    Console.Error.WriteLine($"{h.Host}: {h.Outcome} at {h.FailedStep}: {h.Message}");
}

return notDone.Count == 0 ? 0 : 1;

static double PeakRssMb()
{
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
}

// A bundle laid out as `build` lays out the guide's: the real scripts, two image parts, a repo, Calico; as
// large as the real 1.23 one (~545 MB), its archives and RPMs zeros (written once, never read by a host).
static async Task WriteBundleAsync(string work)
{
    const int MB = 1 << 20;
    string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));
    BundleFile File(string path, byte[] content, ArtifactKind kind, string name) =>
        new BundleFile(path, content.Length, () => new MemoryStream(content)) { Artifact = new ArtifactInfo(kind, name), Executable = path.EndsWith(".sh", StringComparison.Ordinal) };

    string[] controlPlane = ["registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.0", "registry.aliyuncs.com/google_containers/kube-controller-manager:v1.23.0", "registry.aliyuncs.com/google_containers/kube-scheduler:v1.23.0", "registry.aliyuncs.com/google_containers/etcd:3.5.1-0"];
    string[] common = ["registry.aliyuncs.com/google_containers/kube-proxy:v1.23.0", "registry.aliyuncs.com/google_containers/pause:3.6", "registry.aliyuncs.com/google_containers/coredns:v1.8.6", "docker.io/calico/node:v3.25.2", "docker.io/calico/cni:v3.25.2"];
    BundleFile Zeros(string path, long size, ArtifactKind kind, string name) =>
        new BundleFile(path, size, () => new ZeroStream(size)) { Artifact = new ArtifactInfo(kind, name) };
    var files = new List<BundleFile>
    {
        Zeros("images/control-plane.tar", 180L * MB, ArtifactKind.File, "control-plane.tar"),
        File("images/control-plane.images", Encoding.UTF8.GetBytes(string.Join('\n', controlPlane) + "\n"), ArtifactKind.File, "control-plane.images"),
        Zeros("images/common.tar", 215L * MB, ArtifactKind.File, "common.tar"),
        File("images/common.images", Encoding.UTF8.GetBytes(string.Join('\n', common) + "\n"), ArtifactKind.File, "common.images"),
        Zeros("rpms/containerd.io-1.6.33-3.1.el8.x86_64.rpm", 35L * MB, ArtifactKind.Rpm, "containerd.io"),
        Zeros("rpms/docker-ce-20.10.24-3.el8.x86_64.rpm", 22L * MB, ArtifactKind.Rpm, "docker-ce"),
        Zeros("rpms/kubelet-1.23.0-0.x86_64.rpm", 21L * MB, ArtifactKind.Rpm, "kubelet"),
        Zeros("rpms/kubernetes-cni-0.8.7-0.x86_64.rpm", 19L * MB, ArtifactKind.Rpm, "kubernetes-cni"),
        Zeros("rpms/kubectl-1.23.0-0.x86_64.rpm", 10L * MB, ArtifactKind.Rpm, "kubectl"),
        Zeros("rpms/kubeadm-1.23.0-0.x86_64.rpm", 9L * MB, ArtifactKind.Rpm, "kubeadm"),
        Zeros("rpms/other-dependencies.rpm", 34L * MB, ArtifactKind.Rpm, "other-dependencies"),
        File("rpms/repodata/repomd.xml", Encoding.UTF8.GetBytes("<repomd/>\n"), ArtifactKind.File, "repomd.xml"),
        File(BundleLayout.PackagesList, Encoding.UTF8.GetBytes("kubeadm-1.23.0\n"), ArtifactKind.File, "packages.txt"),
        File("manifests/calico.yaml", Encoding.UTF8.GetBytes("apiVersion: v1\nkind: List\nitems: []\n"), ArtifactKind.Manifest, "calico"),
    };
    foreach (var script in new[] { "verify.sh", "prepare-host.sh", "configure-runtime.sh", "preflight.sh", "init-control-plane.sh", "join-node.sh", "apply-manifests.sh", "configure-time.sh", "serve-depot.sh", "import-images.sh", "install-packages.sh" })
    {
        files.Add(File($"scripts/{script}", EmbeddedScripts.Read(script), ArtifactKind.Script, script));
    }

    Artifact Image(string name, string part) => new() { Kind = ArtifactKind.Image, Name = name, Digest = "sha256:" + Sha(Encoding.UTF8.GetBytes(name)), Size = 1, Path = part };
    var header = new BundleHeader("offlinekit-k8s-1.23.0-el8-amd64", "1.0.0", "1.23.0", "el8", "amd64")
    {
        ExtraArtifacts = [.. controlPlane.Select(n => Image(n, "images/control-plane.tar")), .. common.Select(n => Image(n, "images/common.tar"))],
    };
    await BundleWriter.WriteFileAsync(header, files, work, BundleFormat.Tar);
}

/// <summary>Hosts in memory, answering as healthy ones: nothing there yet, every upload counted and dropped.</summary>
internal sealed class SimulatedHosts : IRemoteConnector
{
    private long _bytesSent;

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bytes each host was sent: its uploads and its command lines.</summary>
    public ConcurrentDictionary<string, long> BytesByHost { get; } = new(StringComparer.Ordinal);

    private void Count(string host, long bytes)
    {
        Interlocked.Add(ref _bytesSent, bytes);
        BytesByHost.AddOrUpdate(host, bytes, (_, b) => b + bytes);
    }

    public Task<IRemoteHost> ConnectAsync(InventoryHost host, CancellationToken cancellationToken = default) => Task.FromResult<IRemoteHost>(new SimHost(this, host));

    private sealed class SimHost(SimulatedHosts all, InventoryHost host) : IRemoteHost
    {
        private static readonly ConcurrentDictionary<string, string> Uuids = new();

        public InventoryHost Host { get; } = host;

        public Task<RemoteResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken = default)
        {
            var script = command.Script;
            all.Count(Host.Name, Encoding.UTF8.GetByteCount(Shell.CommandLine(command, Host)));
            string stdout;
            if (script.Contains(" --facts", StringComparison.Ordinal))
            {
                var uuid = Uuids.GetOrAdd(Host.Name, _ => Guid.NewGuid().ToString());
                stdout = string.Create(CultureInfo.InvariantCulture, $"product-uuid={uuid}\nmachine-id={uuid.Replace("-", string.Empty, StringComparison.Ordinal)}\nclock={DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0:0.000}\n");
            }
            else if (script == FetchJoinCommand.Command.Script)
            {
                stdout = $"kubeadm join 10.1.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:{new string('a', 64)}\n";
            }
            else if (script.Contains(" --check ", StringComparison.Ordinal))
            {
                var images = script[(script.IndexOf(" --check ", StringComparison.Ordinal) + 9)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                stdout = string.Concat(images.Select(i => $"present {i.Trim('\'')}\n"));
            }
            else if (script.StartsWith("df -Pk", StringComparison.Ordinal))
            {
                stdout = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sim 104857600 0 104857600 0% /\n";
            }
            else
            {
                stdout = string.Empty;
            }

            return Task.FromResult(new RemoteResult(0, stdout, string.Empty));
        }

        public Task<RemoteFile?> StatAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult<RemoteFile?>(null);

        public async Task UploadAsync(Stream source, string path, long offset, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
        {
            // The bundle's archives by their length (reading 545 MB for each of a thousand hosts would time the disk, not the scheduler).
            long total = source.Length - source.Position;
            if (total < 0 || !source.CanRead)
            {
                throw new InvalidOperationException("an upload of unknown length");
            }

            all.Count(Host.Name, total);
            progress?.Report(total);
            await Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>A stream of <paramref name="length"/> zero bytes: the simulated bundle's archives.</summary>
internal sealed class ZeroStream(long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(count, length - _position);
        Array.Clear(buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
