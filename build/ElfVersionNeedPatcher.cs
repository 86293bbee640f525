// Marks one symbol-version requirement of an ELF shared library as weak (VER_FLG_WEAK).
//
// Why: libLibTorchSharp.so from TorchSharp 0.107.0 lists GLIBCXX_3.4.32 (GCC 13) among its
// libstdc++ version needs, but Debian 12 and the Azure Functions Linux images of that
// generation ship libstdc++ up to GLIBCXX_3.4.30. The only symbol carrying that version,
// std::ios_base_library_init(), is never bound (no relocation uses it), so the requirement
// is spurious. The dynamic loader refuses a library whose non-weak version need is missing and
// accepts it when the need is weak. This task flips that one flag in the .gnu.version_r section
// of the copy in an output folder. It is idempotent and leaves any other file untouched.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class PatchElfVersionNeed : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    [Required]
    public string VersionName { get; set; } = string.Empty;

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var outcome = Patch(path, VersionName);
                Log.LogMessage(MessageImportance.Normal, "{0}: {1} {2}", path, VersionName, outcome);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Log.LogError("Could not patch {0}: {1}", path, ex.Message);
            }
        }

        return !Log.HasLoggedErrors;
    }

    /// <summary>Returns what was done: "marked weak", "already weak" or "not required".</summary>
    public static string Patch(string path, string versionName)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }

        if (bytes[4] != 2 || bytes[5] != 1)
        {
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
        }

        var sectionHeaderOffset = checked((int)U64(bytes, 0x28));
        int sectionHeaderSize = U16(bytes, 0x3A);
        int sectionCount = U16(bytes, 0x3C);
        for (var i = 0; i < sectionCount; i++)
        {
            var header = sectionHeaderOffset + (i * sectionHeaderSize);
            if (U32(bytes, header + 4) != ShtGnuVerneed)
            {
                continue;
            }

            var verneedOffset = checked((int)U64(bytes, header + 0x18));
            var entryCount = U32(bytes, header + 0x2C);
            var stringTableIndex = U32(bytes, header + 0x28);
            var stringTableHeader = sectionHeaderOffset + (checked((int)stringTableIndex) * sectionHeaderSize);
            var stringTableOffset = checked((int)U64(bytes, stringTableHeader + 0x18));

            var need = verneedOffset;
            for (var n = 0; n < entryCount; n++)
            {
                int auxCount = U16(bytes, need + 2);
                var aux = need + checked((int)U32(bytes, need + 8));
                for (var a = 0; a < auxCount; a++)
                {
                    var name = CString(bytes, stringTableOffset + checked((int)U32(bytes, aux + 8)));
                    if (name == versionName)
                    {
                        int flags = U16(bytes, aux + 4);
                        if ((flags & VerFlgWeak) != 0)
                        {
                            return "already weak";
                        }

                        var patched = (ushort)(flags | VerFlgWeak);
                        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
                        {
                            stream.Position = aux + 4;
                            stream.WriteByte((byte)(patched & 0xff));
                            stream.WriteByte((byte)(patched >> 8));
                        }

                        return "marked weak";
                    }

                    aux += checked((int)U32(bytes, aux + 12));
                }

                need += checked((int)U32(bytes, need + 12));
            }
        }

        return "not required";
    }

    private static ushort U16(byte[] b, int o) => (ushort)(b[o] | (b[o + 1] << 8));

    private static uint U32(byte[] b, int o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));

    private static ulong U64(byte[] b, int o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);

    private static string CString(byte[] b, int o)
    {
        var end = Array.IndexOf(b, (byte)0, o);
        return Encoding.ASCII.GetString(b, o, end - o);
    }
}
