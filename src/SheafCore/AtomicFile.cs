using System.Text;

namespace SheafCore;

/// <summary>Writes files atomically: the content goes to a temporary file beside the target, which then
/// replaces the target by a rename, so an interrupted save leaves the previous file intact.</summary>
public static class AtomicFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="contents"/> (UTF-8, no BOM).</summary>
    /// <param name="path">Target file; its directory must exist.</param>
    /// <param name="contents">The complete new contents.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file could not be written; the previous file is unchanged.</exception>
    public static void WriteAllText(string path, string contents)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(contents);
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(contents));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="contents"/>.</summary>
    /// <param name="path">Target file; its directory must exist.</param>
    /// <param name="contents">The complete new contents.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file could not be written; the previous file is unchanged.</exception>
    public static void WriteAllBytes(string path, byte[] contents)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(contents);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        RemoveStaleTemporaries(directory, Path.GetFileName(full));
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Deletes temporary files of earlier saves of the same target whose writing process no longer runs (a save
    /// killed between creating its temporary file and the rename leaves one behind). Temporary files of live processes,
    /// including this one, are left alone: they may belong to a save in progress.</summary>
    private static void RemoveStaleTemporaries(string directory, string fileName)
    {
        if (fileName.AsSpan().IndexOfAny('*', '?') >= 0 || !Directory.Exists(directory)) return;
        string prefix = "." + fileName + ".";
        foreach (var path in Directory.EnumerateFiles(directory, prefix + "*.tmp"))
        {
            // .{name}.{pid}.{guid}.tmp
            var middle = Path.GetFileName(path)[prefix.Length..^".tmp".Length];
            int dot = middle.IndexOf('.');
            if (dot <= 0 || !int.TryParse(middle.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            try { File.Delete(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // best effort: the save itself goes on
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
