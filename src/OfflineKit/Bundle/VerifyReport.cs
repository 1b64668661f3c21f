using System.Text.Json;
using System.Text.Json.Serialization;

namespace OfflineKit.Bundle;

[JsonConverter(typeof(JsonStringEnumConverter<ProblemKind>))]
public enum ProblemKind
{
    /// <summary>The file's bytes differ from what the bundle recorded.</summary>
    [JsonStringEnumMemberName("modified")]
    Modified,

    /// <summary>Recorded in SHA256SUMS or bundle.json, absent from the bundle.</summary>
    [JsonStringEnumMemberName("missing")]
    Missing,

    /// <summary>Present in the bundle, recorded nowhere.</summary>
    [JsonStringEnumMemberName("extra")]
    Extra,

    /// <summary>The file matches bundle.json but its SHA256SUMS line was changed.</summary>
    [JsonStringEnumMemberName("sums-altered")]
    SumsAltered,

    /// <summary>SHA256SUMS or bundle.json cannot be read.</summary>
    [JsonStringEnumMemberName("malformed")]
    Malformed,

    /// <summary>The tarball ends early or its framing is broken.</summary>
    [JsonStringEnumMemberName("truncated")]
    Truncated,

    /// <summary>The tarball does not match the .sha256 beside it.</summary>
    [JsonStringEnumMemberName("tarball-checksum")]
    TarballChecksum,

    /// <summary>An entry that no bundle has: a link, a device, a path outside the top folder.</summary>
    [JsonStringEnumMemberName("unexpected-entry")]
    UnexpectedEntry,

    /// <summary>An artifact's own digest disagrees with the file that holds it.</summary>
    [JsonStringEnumMemberName("artifact")]
    Artifact,

    /// <summary>Under --key: bundle.json.sig is missing, or does not verify with the key.</summary>
    [JsonStringEnumMemberName("signature")]
    Signature,
}

[JsonConverter(typeof(JsonStringEnumConverter<SignatureStatus>))]
public enum SignatureStatus
{
    /// <summary>No key was given: the signature, if any, was not checked.</summary>
    [JsonStringEnumMemberName("not-checked")]
    NotChecked,

    /// <summary>bundle.json.sig verifies with the given key.</summary>
    [JsonStringEnumMemberName("valid")]
    Valid,

    /// <summary>bundle.json.sig does not verify with the given key (another key, or bundle.json changed).</summary>
    [JsonStringEnumMemberName("invalid")]
    Invalid,

    /// <summary>A key was given and the bundle has no bundle.json.sig.</summary>
    [JsonStringEnumMemberName("missing")]
    Missing,
}

public sealed record VerifyProblem(ProblemKind Kind, string Path, string Detail);

[JsonConverter(typeof(JsonStringEnumConverter<TarballChecksumStatus>))]
public enum TarballChecksumStatus
{
    /// <summary>The bundle is a directory: there is no tarball to check.</summary>
    [JsonStringEnumMemberName("not-applicable")]
    NotApplicable,

    /// <summary>No NAME.tar.sha256 lies beside the tarball.</summary>
    [JsonStringEnumMemberName("absent")]
    Absent,

    [JsonStringEnumMemberName("ok")]
    Ok,

    [JsonStringEnumMemberName("mismatch")]
    Mismatch,
}

public sealed record VerifyReport(
    string Bundle,
    string? Name,
    bool Ok,
    int FilesChecked,
    long BytesChecked,
    TarballChecksumStatus TarballChecksum,
    IReadOnlyList<VerifyProblem> Problems)
{
    /// <summary>What came of the signature check; <see cref="SignatureStatus.NotChecked"/> without --key.</summary>
    public SignatureStatus Signature { get; init; }

    /// <summary>Whether the bundle carries bundle.json.sig (checked or not).</summary>
    public bool HasSignature { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, VerifyJsonContext.Default.VerifyReport);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(VerifyReport))]
internal sealed partial class VerifyJsonContext : JsonSerializerContext;
