using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ServerlessMeta.Deployment.Tests;

/// <summary>
/// One symbol-version requirement of a shared library: <c>GLIBCXX_3.4.30</c> from <c>libstdc++.so.6</c>;
/// <paramref name="FlagsOffset"/> is where its 16-bit flags are in the file.
/// </summary>
internal sealed record VersionNeed(string File, string Version, ushort Flags, long FlagsOffset)
{
    /// <summary>VER_FLG_WEAK: the loader accepts the library when the version is missing.</summary>
    public const ushort WeakFlag = 0x2;

    public bool IsWeak => (Flags & WeakFlag) != 0;
}

/// <summary>
/// A read-only reader of the two dynamic-linking tables the tests check in a 64-bit little-endian ELF shared
/// library: DT_NEEDED / DT_RUNPATH of <c>.dynamic</c>, and the version needs of <c>.gnu.version_r</c> (the table
/// build/ElfVersionNeedPatcher.cs writes to). It reads only the headers and those sections, never the whole file.
/// </summary>
internal sealed class ElfFile
{
    private const uint ShtDynamic = 6;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const long DtNeeded = 1;
    private const long DtRpath = 15;
    private const long DtRunpath = 29;

    private ElfFile(IReadOnlyList<string> needed, IReadOnlyList<string> runPath, IReadOnlyList<VersionNeed> versionNeeds)
    {
        Needed = needed;
        RunPath = runPath;
        VersionNeeds = versionNeeds;
    }

    /// <summary>The libraries the loader loads with this one (DT_NEEDED), in order.</summary>
    public IReadOnlyList<string> Needed { get; }

    /// <summary>DT_RUNPATH (or DT_RPATH) entries, e.g. <c>$ORIGIN</c>.</summary>
    public IReadOnlyList<string> RunPath { get; }

    public IReadOnlyList<VersionNeed> VersionNeeds { get; }

    public static ElfFile Read(string path)
    {
        using var handle = File.OpenHandle(path);
        var header = ReadBytes(handle, 0, 64);
        if (header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
        {
            throw new InvalidDataException($"{path} is not an ELF file");
        }

        if (header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file");
        }

        var sectionTable = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x28)));
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        var sections = Enumerable.Range(0, sectionCount)
            .Select(i => Section.Parse(ReadBytes(handle, sectionTable + ((long)i * sectionSize), sectionSize)))
            .ToList();

        var needed = new List<string>();
        var runPath = new List<string>();
        var versionNeeds = new List<VersionNeed>();
        foreach (var section in sections)
        {
            if (section.Type == ShtDynamic)
            {
                var strings = ReadSection(handle, sections[(int)section.Link]);
                var entries = ReadSection(handle, section);
                for (var offset = 0; offset + 16 <= entries.Length; offset += 16)
                {
                    var tag = BinaryPrimitives.ReadInt64LittleEndian(entries.AsSpan(offset));
                    var value = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(entries.AsSpan(offset + 8)));
                    if (tag == DtNeeded)
                    {
                        needed.Add(CString(strings, value));
                    }
                    else if (tag is DtRunpath or DtRpath)
                    {
                        runPath.AddRange(CString(strings, value).Split(':', StringSplitOptions.RemoveEmptyEntries));
                    }
                }
            }
            else if (section.Type == ShtGnuVerneed)
            {
                var strings = ReadSection(handle, sections[(int)section.Link]);
                var table = ReadSection(handle, section);
                var need = 0;
                for (var n = 0; n < section.Info; n++)
                {
                    int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(need + 2));
                    var file = CString(strings, checked((int)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(need + 4))));
                    var aux = need + checked((int)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(need + 8)));
                    for (var a = 0; a < auxCount; a++)
                    {
                        var flags = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(aux + 4));
                        var name = CString(strings, checked((int)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(aux + 8))));
                        versionNeeds.Add(new VersionNeed(file, name, flags, section.Offset + aux + 4));
                        aux += checked((int)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(aux + 12)));
                    }

                    need += checked((int)BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(need + 12)));
                }
            }
        }

        return new ElfFile(needed, runPath, versionNeeds);
    }

    private static byte[] ReadSection(SafeFileHandle handle, Section section) =>
        ReadBytes(handle, section.Offset, checked((int)section.Size));

    private static byte[] ReadBytes(SafeFileHandle handle, long offset, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(read), offset + read);
            if (n == 0)
            {
                throw new InvalidDataException($"unexpected end of file at offset {offset + read}");
            }

            read += n;
        }

        return buffer;
    }

    private static string CString(byte[] table, int offset)
    {
        var end = Array.IndexOf(table, (byte)0, offset);
        return Encoding.ASCII.GetString(table, offset, end - offset);
    }

    private readonly record struct Section(uint Type, long Offset, long Size, uint Link, uint Info)
    {
        public static Section Parse(byte[] header) => new(
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)),
            checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x18))),
            checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x20))),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(0x28)),
            BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(0x2C)));
    }
}
