using System.Text.Json;
using Json.Schema;

namespace OfflineKit.Tests.Support;

/// <summary>The official CycloneDX 1.6 JSON schema (with the SPDX and JSF schemas it refers to), as kept in Trust/testdata/cyclonedx.</summary>
public static class SbomSchema
{
    public static EvaluationResults Validate(byte[] json)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Trust", "testdata", "cyclonedx");
        var build = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        build.SchemaRegistry.Register(JsonSchema.FromFile(Path.Combine(dir, "spdx.schema.json"), build));
        build.SchemaRegistry.Register(JsonSchema.FromFile(Path.Combine(dir, "jsf-0.82.schema.json"), build));
        var bom = JsonSchema.FromFile(Path.Combine(dir, "bom-1.6.schema.json"), build);
        using var doc = JsonDocument.Parse(json);
        return bom.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    public static void AssertValid(byte[] json)
    {
        var result = Validate(json);
        Assert.True(result.IsValid, string.Join("\n", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))));
    }
}
