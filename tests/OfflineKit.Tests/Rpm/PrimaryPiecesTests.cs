using System.IO.Compression;
using System.Text;
using OfflineKit.Rpm;

namespace OfflineKit.Tests.Rpm;

/// <summary>
/// A primary read in pieces on several threads gives exactly what one scanner over the whole file
/// gives: the same packages in the same order, and where the file is odd (a comment, CDATA, a
/// nested package, content after the root, bad XML) the serial reader's result or error.
/// </summary>
public class PrimaryPiecesTests
{
    private static readonly byte[] Generated = RpmScaleTests.PrimaryXml(RpmWorld.Generate(new Random(16), names: 900, packages: 2_500));

    [Theory]
    [InlineData(2, 4 * 1024)]
    [InlineData(3, 64 * 1024)]
    [InlineData(4, 100)]
    public void Pieces_give_the_serial_readers_packages_in_file_order(int workers, int pieceSize)
    {
        var serial = PrimaryReader.Read(new MemoryStream(Generated), "r");

        var pieces = PrimaryReader.TryReadInPieces(new TrickleStream(Generated, 7_777), "r", workers, pieceSize);

        Assert.NotNull(pieces);
        Assert.Equal(2_500, serial.Count);
        Assert.Equal(serial.Select(Describe), pieces.Select(Describe));
    }

    [Fact]
    public void A_compressed_file_read_through_repomd_checks_is_read_in_pieces_once()
    {
        var (stored, record) = Gzip(Generated);
        var opened = 0;

        var packages = PrimaryReader.Read(() => { opened++; return new MemoryStream(stored); }, record, "p.xml.gz", "r", workers: 2);

        Assert.Equal(1, opened);
        Assert.Equal(PrimaryReader.Read(new MemoryStream(Generated), "r").Select(Describe), packages.Select(Describe));
    }

    public static TheoryData<string, string> OddFiles => new()
    {
        // </package> as text where a cut would split the document wrongly.
        { "a comment", "<!-- </package><package type=\"rpm\"><name>smuggled</name><arch>noarch</arch><version epoch=\"0\" ver=\"1\" rel=\"1\"/></package> -->" },
        { "a CDATA section", "<package type=\"rpm\"><name>c</name><arch>noarch</arch><version epoch=\"0\" ver=\"1\" rel=\"1\"/><description><![CDATA[</package>]]></description></package>" },
        { "a processing instruction", "<?pi </package> ?>" },
        // A package element inside a package: the serial reader skips it; a cut after its end tag (the
        // last in a piece of any size up to 1 MB, with the spaces after it) breaks the nesting.
        { "a nested package", "<package type=\"rpm\"><name>n</name><arch>noarch</arch><version epoch=\"0\" ver=\"1\" rel=\"1\"/><format><package><x/></package>" + new string(' ', 1_100_000) + "</format></package>" },
    };

    [Theory]
    [MemberData(nameof(OddFiles))]
    public void An_odd_but_well_formed_file_is_read_again_serially_with_the_same_result(string what, string insert)
    {
        var xml = InsertMidway(Generated, insert);
        var serial = PrimaryReader.Read(new MemoryStream(xml), "r");
        var opened = 0;

        Assert.Null(PrimaryReader.TryReadInPieces(new MemoryStream(xml), "r", 2, 1024));
        var packages = PrimaryReader.Read(() => { opened++; return new MemoryStream(xml); }, null, "p.xml", "r", workers: 2);

        Assert.Equal(2, opened);
        Assert.True(serial.Count >= 2_500, what);
        Assert.Equal(serial.Select(Describe), packages.Select(Describe));
    }

    [Fact]
    public void Packages_after_the_roots_end_are_ignored_as_the_serial_reader_ignores_them()
    {
        var text = Encoding.UTF8.GetString(Generated);
        var middle = text.IndexOf("</package>", text.Length / 2, StringComparison.Ordinal) + "</package>".Length;
        var xml = Encoding.UTF8.GetBytes(text[..middle] + "\n</metadata>\n" + text[middle..]);
        var serial = PrimaryReader.Read(new MemoryStream(xml), "r");

        var packages = PrimaryReader.Read(() => new MemoryStream(xml), null, "p.xml", "r", workers: 2);

        Assert.InRange(serial.Count, 1_000, 1_500);
        Assert.Equal(serial.Select(Describe), packages.Select(Describe));
    }

    [Theory]
    [InlineData("<package type=\"rpm\"><name>bad</name></metadata>")]
    [InlineData("<package type=\"rpm\"><name>&nope;</name></package>")]
    [InlineData("<package type=\"rpm\"><name>x</name><version epoch=\"0\" ver=\"1\"/></package>")]
    public void Bad_xml_anywhere_fails_with_the_serial_readers_error(string insert)
    {
        var xml = InsertMidway(Generated, insert);
        var serial = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(xml), null, "p.xml", "r"));

        var pieces = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(() => new MemoryStream(xml), null, "p.xml", "r", workers: 2));

        Assert.Equal(serial.Message, pieces.Message);
    }

    [Fact]
    public void A_corrupt_file_fails_as_the_serial_reader_fails()
    {
        var (stored, record) = Gzip(Generated);
        var tampered = stored.ToArray();
        tampered[tampered.Length / 2] ^= 0x40;
        var serial = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(new MemoryStream(tampered), record, "p.xml.gz", "r"));

        var pieces = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(() => new MemoryStream(tampered), record, "p.xml.gz", "r", workers: 2));

        Assert.Equal(serial.Message, pieces.Message);
    }

    [Fact]
    public void A_checksum_mismatch_is_reported_without_a_second_read()
    {
        var (stored, record) = Gzip(Generated);
        var opened = 0;

        var e = Assert.Throws<OperationFailedException>(() => PrimaryReader.Read(
            () => { opened++; return new MemoryStream(stored); }, record with { Checksum = new RpmChecksum("sha256", new string('0', 64)) }, "p.xml.gz", "r", workers: 2));

        Assert.Equal(1, opened);
        Assert.Contains("p.xml.gz: checksum mismatch", e.Message);
    }

    [Fact]
    public void A_small_file_is_one_piece_read_in_place()
    {
        var xml = Encoding.UTF8.GetBytes("\uFEFF<?xml version=\"1.0\"?><metadata packages=\"1\"><package type=\"rpm\"><name>a</name><arch>noarch</arch><version epoch=\"0\" ver=\"1\" rel=\"2\"/></package></metadata>");

        var packages = PrimaryReader.TryReadInPieces(new MemoryStream(xml), "r", 4, 1024);

        Assert.Equal(["a-0:1-2.noarch"], packages!.Select(p => p.Nevra));
    }

    private static byte[] InsertMidway(byte[] xml, string insert)
    {
        var text = Encoding.UTF8.GetString(xml);
        var at = text.IndexOf("</package>", text.Length / 2, StringComparison.Ordinal) + "</package>".Length;
        return Encoding.UTF8.GetBytes(text[..at] + insert + text[at..]);
    }

    private static (byte[] Stored, RepomdRecord Record) Gzip(byte[] xml)
    {
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(xml);
        }

        var stored = gz.ToArray();
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stored));
        return (stored, new RepomdRecord("primary", "repodata/p.xml.gz", new RpmChecksum("sha256", sha), null, stored.Length, xml.Length));
    }

    private static string Describe(RpmPackage p) =>
        $"{p.Nevra} {p.Checksum} {p.LocationHref} {p.LocationBase} {p.Size} {p.Repo} P[{string.Join(',', p.Provides)}] " +
        $"R[{string.Join(',', p.Requires.Select(d => $"{d}{(d.Pre ? "(pre)" : "")}"))}] C[{string.Join(',', p.Conflicts)}] " +
        $"O[{string.Join(',', p.Obsoletes)}] W[{string.Join(',', p.Recommends)}] F[{string.Join(',', p.Files)}]";

    /// <summary>Hands out at most a few bytes per read, as a decompressor may.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, piece));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, piece)]);
    }
}
