using System.Collections.Concurrent;

namespace OfflineKit.Rpm;

/// <summary>
/// A big primary read on several cores. The decompressed XML is cut, as it streams in, after a
/// <c>&lt;/package&gt;</c> every few hundred KB; each piece, given a <c>&lt;metadata&gt;</c> root of its
/// own, is read by one of a few threads with the same <see cref="XmlScanner"/> and package reader as
/// one file would be, and the pieces' packages are put back in file order. Memory stays bounded:
/// a handful of pieces are in flight at once.
/// </summary>
/// <remarks>
/// A cut must fall between two top-level packages for the pieces to say what the whole says. The
/// pieces are cut only while the file has no comment, CDATA section, processing instruction or DTD
/// (the only places where <c>&lt;/package&gt;</c> could stand as text; createrepo never writes them), and
/// each piece must parse as a whole number of elements that closes exactly at its end — which fails
/// for any cut that was not between top-level elements, since the scanner matches every end tag.
/// Whenever either does not hold, the file is read again from the start by one scanner
/// (<see cref="Read(Stream, RepomdRecord?, string, string)"/>), so the result and any error are
/// exactly what the serial reader gives.
/// </remarks>
public static partial class PrimaryReader
{
    /// <summary>How much XML one piece holds (about 1,000 packages of a real primary).</summary>
    internal const int DefaultPieceSize = 512 * 1024;

    // A piece that has not found a package's end in this much is read serially (one huge package).
    private const int MaxPieceSize = 64 * 1024 * 1024;

    /// <summary>
    /// Opens (with <paramref name="open"/>), decompresses, checks against <paramref name="record"/> and
    /// reads a primary file, on up to <paramref name="workers"/> threads. <paramref name="open"/> is
    /// called again when the file has to be read serially after all (see the remarks above).
    /// </summary>
    public static List<RpmPackage> Read(Func<Stream> open, RepomdRecord? record, string name, string repo, int workers)
    {
        ArgumentNullException.ThrowIfNull(open);
        if (workers > 1)
        {
            List<RpmPackage>? packages;
            try
            {
                using var input = open();
                packages = MetadataFile.Read(input, record, name, content => TryReadInPieces(content, repo, workers, DefaultPieceSize));
            }
            catch (Exception e) when (e is not (OfflineKitException or OperationCanceledException))
            {
                // Reading what is left after a piece failed failed too: the serial read says which error is the file's.
                packages = null;
            }

            if (packages is not null)
            {
                return packages;
            }
        }

        using var again = open();
        return Read(again, record, name, repo);
    }

    /// <summary>
    /// The packages of a decompressed primary read in pieces of about <paramref name="pieceSize"/> bytes
    /// on <paramref name="workers"/> threads; null when the file cannot be cut safely or a piece does not
    /// parse, or reading <paramref name="content"/> fails (then the serial reader decides).
    /// </summary>
    internal static List<RpmPackage>? TryReadInPieces(Stream content, string repo, int workers, int pieceSize)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(pieceSize, 64);
        using var reader = new PieceReader(content, repo, workers, pieceSize);
        return reader.Run();
    }

    private sealed class Piece(byte[] buffer, int start, int length, bool last)
    {
        public byte[] Buffer { get; } = buffer;

        public int Start { get; } = start;

        public int Length { get; } = length;

        public bool Last { get; } = last;

        public List<RpmPackage>? Packages { get; set; }
    }

    private sealed class PieceReader(Stream content, string repo, int workers, int pieceSize) : IDisposable
    {
        // Each piece's buffer keeps room for a root start tag before its bytes and an end tag after.
        private static ReadOnlySpan<byte> RootStart => "<metadata>"u8;

        private static ReadOnlySpan<byte> RootEnd => "</metadata>"u8;

        private static ReadOnlySpan<byte> PackageEnd => "</package>"u8;

        private const int Front = 10;
        private const int Back = 11;

        private readonly List<Piece> _pieces = [];
        // One piece waiting per worker: more in flight only held memory (each 512 KB), no time measured.
        private readonly BlockingCollection<Piece> _queue = new(boundedCapacity: workers);
        // The pieces' buffers, reused: a piece is cut on this thread and read on another, and the shared
        // ArrayPool keeps few arrays a thread gives back for another to take, and rounds 512 KB up to 1 MB
        // (measured on a 27 MB primary read on two threads: ~6 MB more allocated and ~8 MB more held).
        private readonly ConcurrentQueue<byte[]> _free = new();
        private Task[]? _threads;
        private volatile bool _failed;

        public List<RpmPackage>? Run()
        {
            try
            {
                Cut();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Reading the file failed (a broken compressed stream, a size that does not match): the
                // pieces still queued are not read, and the serial reader reads it again to say which
                // error is the file's — it may meet bad XML before the point where this read failed.
                _failed = true;
            }
            finally
            {
                _queue.CompleteAdding();
                if (_threads is not null)
                {
                    Task.WaitAll(_threads);
                }
            }

            if (_failed)
            {
                return null;
            }

            var all = new List<RpmPackage>(_pieces.Sum(p => p.Packages!.Count));
            foreach (var piece in _pieces)
            {
                all.AddRange(piece.Packages!);
            }

            return all;
        }

        public void Dispose() => _queue.Dispose();

        private void Cut()
        {
            var buffer = RentBuffer(pieceSize + Front + Back);
            var start = Front;
            var end = Front;
            var first = true;
            try
            {
                while (!_failed)
                {
                    var n = content.Read(buffer, end, buffer.Length - Back - end);
                    if (n == 0)
                    {
                        // The rest, with the root's real end tag and whatever follows it.
                        Dispatch(buffer, start, end, first, last: true);
                        buffer = null;
                        return;
                    }

                    end += n;
                    if (end - start < pieceSize && end < buffer.Length - Back)
                    {
                        continue;
                    }

                    var cut = buffer.AsSpan(start, end - start).LastIndexOf(PackageEnd);
                    if (cut < 0)
                    {
                        if (end == buffer.Length - Back)
                        {
                            if (buffer.Length >= MaxPieceSize)
                            {
                                _failed = true;
                                return;
                            }

                            var bigger = RentBuffer(buffer.Length * 2);
                            System.Buffer.BlockCopy(buffer, 0, bigger, 0, end);
                            ReturnBuffer(buffer);
                            buffer = bigger;
                        }

                        continue;
                    }

                    cut += start + PackageEnd.Length;
                    var from = first ? AfterDeclaration(buffer, start, cut) : start;
                    var region = buffer.AsSpan(from, cut - from);
                    if (region.IndexOf("<!"u8) >= 0 || region.IndexOf("<?"u8) >= 0)
                    {
                        _failed = true;
                        return;
                    }

                    var tail = end - cut;
                    var next = RentBuffer(Math.Max(pieceSize, tail + 1) + Front + Back);
                    System.Buffer.BlockCopy(buffer, cut, next, Front, tail);
                    RootEnd.CopyTo(buffer.AsSpan(cut));
                    Dispatch(buffer, start, cut + Back, first, last: false);
                    (buffer, start, end, first) = (next, Front, Front + tail, false);
                }
            }
            finally
            {
                if (buffer is not null && _failed)
                {
                    ReturnBuffer(buffer);
                }
            }
        }

        // end is where the piece's bytes (with their end tag, unless last) stop.
        private void Dispatch(byte[] buffer, int start, int end, bool first, bool last)
        {
            if (!first)
            {
                RootStart.CopyTo(buffer.AsSpan(start - Front));
                start -= Front;
            }

            var piece = new Piece(buffer, start, end - start, last);
            _pieces.Add(piece);
            if (first && last)
            {
                // The whole file in one piece, byte for byte: read here, errors and all, as the serial reader would.
                try
                {
                    var packages = new List<RpmPackage>();
                    ReadDocument(new XmlScanner(buffer, start, end - start), new PackageReader(repo), packages);
                    piece.Packages = packages;
                }
                finally
                {
                    ReturnBuffer(buffer);
                }

                return;
            }

            _threads ??= [.. Enumerable.Range(0, workers).Select(_ => Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
            _queue.Add(piece);
        }

        private void Work()
        {
            var reader = new PackageReader(repo);
            foreach (var piece in _queue.GetConsumingEnumerable())
            {
                try
                {
                    if (_failed)
                    {
                        continue;
                    }

                    var x = new XmlScanner(piece.Buffer, piece.Start, piece.Length);
                    var packages = new List<RpmPackage>();
                    ReadDocument(x, reader, packages);

                    // A piece but the last ends with the end tag it was given: anything after the root
                    // closed means the file's own root closed inside it.
                    if (!piece.Last && x.Read())
                    {
                        _failed = true;
                        continue;
                    }

                    piece.Packages = packages;
                }
                catch (Exception)
                {
                    // The serial reader reads the file again and says what is wrong with it, if anything.
                    _failed = true;
                }
                finally
                {
                    ReturnBuffer(piece.Buffer);
                }
            }
        }

        private byte[] RentBuffer(int length)
        {
            var size = pieceSize + Front + Back;
            return length <= size && _free.TryDequeue(out var buffer) ? buffer : new byte[Math.Max(length, size)];
        }

        // At most the pieces in flight are ever kept (the queue's, one per worker and the one being cut).
        private void ReturnBuffer(byte[] buffer)
        {
            if (buffer.Length == pieceSize + Front + Back)
            {
                _free.Enqueue(buffer);
            }
        }

        // Where the check for comments and the like begins in the first piece: after a UTF-8 byte
        // order mark and the XML declaration (<?xml ...?>), the one processing instruction allowed.
        private static int AfterDeclaration(byte[] buffer, int start, int cut)
        {
            var b = buffer.AsSpan(start, cut - start);
            var bom = b.StartsWith((ReadOnlySpan<byte>)[0xef, 0xbb, 0xbf]) ? 3 : 0;
            if (!b[bom..].StartsWith("<?xml"u8))
            {
                return start;
            }

            var close = b[bom..].IndexOf("?>"u8);
            return close < 0 ? start : start + bom + close + 2;
        }
    }
}
