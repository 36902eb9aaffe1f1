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

    [Fact]
    public void ToolPackage_IsPerPlatform_AndInstallsAndRunsFromALocalFeed()
    {
        using var temp = new TempDirectory();
        string version = "0.1.0-ci" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        string feed = Directory.CreateDirectory(temp.File("packages")).FullName;
        string rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
        var root = TestPaths.RepositoryRoot;

        // Only this machine's platform, to keep the test short (`dotnet pack` without the override makes all of them).
        // PackageVersion, not Version, and ToolPackageRuntimeIdentifiers, not RuntimeIdentifiers: both global properties
        // reach every referenced project, and these two change neither their compilation nor their restore.
        Run(root, "pack", Path.Combine(root, "src", "SheafCore.Cli", "SheafCore.Cli.csproj"), "-c", Configuration, "-o", feed,
            $"-p:PackageVersion={version}", $"-p:ToolPackageRuntimeIdentifiers={rid}");
        var pointer = new FileInfo(Path.Combine(feed, $"SheafCore.Cli.{version}.nupkg"));
        var specific = new FileInfo(Path.Combine(feed, $"SheafCore.Cli.{rid}.{version}.nupkg"));
        Assert.True(pointer.Exists && specific.Exists, string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName)));
        using (var zip = ZipFile.OpenRead(specific.FullName))
        {
            var natives = zip.Entries.Select(e => e.FullName).Where(n => n.Contains("SkiaSharp", StringComparison.Ordinal) && !n.EndsWith(".dll", StringComparison.Ordinal)).ToArray();
            Assert.NotEmpty(natives);
            Assert.All(natives, n => Assert.StartsWith($"tools/net10.0/{rid}/", n)); // no other platform's natives
        }

        var tools = temp.File("tools");
        try
        {
            Run(temp.Path, "tool", "install", "SheafCore.Cli", "--add-source", feed, "--tool-path", tools, "--version", version);
            var info = new ProcessStartInfo(Path.Combine(tools, OperatingSystem.IsWindows() ? "sheafcore.exe" : "sheafcore")) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "forward", "--model", TestPaths.Fixture("models", "mlp_2-4-1_seed42_identity.json"), "--input", WriteInput(temp), "--output", temp.File("y.csv"), "--json" })
                info.ArgumentList.Add(a);
            using var tool = Process.Start(info)!;
            string stdout = tool.StandardOutput.ReadToEnd();
            Assert.True(tool.WaitForExit(TimeSpan.FromMinutes(2)) && tool.ExitCode == 0, stdout + tool.StandardError.ReadToEnd());
            Assert.Contains("\"samples\":1", stdout);
            Assert.Equal(1.2782241421072138, CsvTable.Load(temp.File("y.csv")).ToArray()[0, 0], 12);
        }
        finally
        {
            foreach (var id in new[] { "sheafcore.cli", $"sheafcore.cli.{rid}" })
            {
                var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), id, version);
                if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
            }
        }
    }

    private static string WriteInput(TempDirectory temp)
    {
        File.WriteAllText(temp.File("x.csv"), "x1,x2\n1,0.5\n");
        return temp.File("x.csv");
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
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} did not finish in 5 minutes.");
        }
        string output = stdout.Result + stderr.Result;
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        return output;
    }
}
