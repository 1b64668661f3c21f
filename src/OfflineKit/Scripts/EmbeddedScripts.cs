namespace OfflineKit.Scripts;

/// <summary>The host scripts compiled into offlinekit (Scripts/*.sh): what a bundle carries under scripts/, and what reset sends.</summary>
public static class EmbeddedScripts
{
    public static byte[] Read(string fileName)
    {
        using var stream = typeof(EmbeddedScripts).Assembly.GetManifestResourceStream($"OfflineKit.Scripts.{fileName}")
            ?? throw new InvalidOperationException($"script {fileName} is not embedded");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
