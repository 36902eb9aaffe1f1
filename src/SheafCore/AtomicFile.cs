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
}
