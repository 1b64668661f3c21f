namespace OfflineKit.IO;

/// <summary>How far a long byte-moving job is: done of total, and what it is on now.</summary>
public readonly record struct ByteProgress(long Done, long Total, string? Current);
