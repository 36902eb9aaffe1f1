using System.Diagnostics;
using System.IO.Compression;

namespace SheafCore.Tests;

/// <summary>Packs the SheafCore package and runs samples/SheafCore.Sample against it from a local feed, as a user would.</summary>
public sealed class PackageSampleTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public void Package_CarriesTheFSharpCoreAndDocs_AndTheSampleBuildsAndRunsAgainstIt()
    {
        using var temp = new TempDirectory();
        string version = "0.1.0-ci" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        string feed = Directory.CreateDirectory(temp.File("packages")).FullName;
        var root = TestPaths.RepositoryRoot;

        // Pack from the binaries this test run already built (dotnet test builds the solution first).
        Run(root, "pack", Path.Combine(root, "src", "SheafCore", "SheafCore.csproj"), "-c", Configuration, "--no-build", "-o", feed, $"-p:Version={version}");
        var package = Path.Combine(feed, $"SheafCore.{version}.nupkg");
        using (var zip = ZipFile.OpenRead(package))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToArray();
            foreach (var file in new[] { "SheafCore.dll", "SheafCore.xml", "SheafCore.Numerics.dll", "SheafCore.Numerics.xml" })
                Assert.Contains($"lib/net10.0/{file}", entries);
        }

        // The sample, copied out of the tree so that its obj/bin and restore stay in the scratch folder.
        var sample = Directory.CreateDirectory(temp.File("sample")).FullName;
        var source = Path.Combine(root, "samples", "SheafCore.Sample");
        foreach (var f in new[] { "Program.cs", "SheafCore.Sample.csproj" }) File.Copy(Path.Combine(source, f), Path.Combine(sample, f));
        foreach (var f in new[] { "Directory.Build.props", "Directory.Packages.props" }) File.Copy(Path.Combine(root, "samples", f), temp.File(f));
        File.WriteAllText(temp.File("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        try
        {
            var output = Run(sample, "run", "-c", "Release", $"-p:SheafCoreVersion={version}");
            Assert.Contains("harmonic extension = forward pass: True", output);
            Assert.Contains("diffuse: converged True", output);
            Assert.Contains("diagnose: settled", output);
            Assert.Contains("sample: OK", output);
        }
        finally
        {
            // Each run caches a uniquely versioned copy; remove it so the global packages folder does not grow.
            var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "sheafcore", version);
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }

    private static string Run(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        // Leave no build servers or reusable MSBuild nodes running after the test.
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";
        info.Environment.Remove("MSBuildExtensionsPath");
        info.Environment.Remove("MSBUILD_EXE_PATH");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} did not finish in 3 minutes.");
        }
        string output = stdout.Result + stderr.Result;
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        return output;
    }
}
