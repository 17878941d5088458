// prune-asmjit: zeroes, in a linked kernel image, the entries of asmjit's x86 instruction
// tables that belong to instructions the kernel never emits, so that they pack to almost
// nothing (issue 19: the tables are about 7 KiB of the packed kernel, for ~200 of 1663
// instructions in use).
//
// usage: prune-asmjit KERNEL.elf FLAT.raw OUT.raw
//        prune-asmjit --kept-encodings
//
// FLAT.raw is objcopy's flat image of KERNEL.elf; OUT.raw is that image pruned. The instructions kept
// are build/gen/kernel_insts.inc, which scripts/kernel-insts reads from the sources; every
// other id's InstInfo becomes zero, and so does every entry of the tables behind it
// (_commonInfoTable, _mainOpcodeTable, _altOpcodeTable) that no kept instruction uses.
// asmjit would encode a zeroed id as nothing at all, without an error: the micro-JIT's
// assembler refuses such ids instead (mjit::Assembler in microjit/emitter.h).
//
// Why patch after the link instead of compiling a pruned copy of x86instdb.cpp: the patch
// needs nothing from asmjit's source format (the tables are macro-built rows that change
// between versions), only the symbols, and every assumption is checked here: each table's
// size in the ELF must be its entry count times its entry size, and its bytes must equal
// the same table in this program's own asmjit (built from the same source), which also
// proves the ids and the entry layout agree. Any mismatch stops the build, nothing is
// pruned halfway. The ELF keeps the whole tables; only the image that boots is pruned.
//
// --kept-encodings prints the encoding groups (InstDB::EncodingId) of the kept instructions,
// for scripts/asmjit-kernel-cases, which cuts the encoder's switch to them.
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include <asmjit/x86.h>
#include <asmjit/x86/x86instdb_p.h>

#include "kernel_lib/base/error.h"

namespace {

namespace InstDB = asmjit::x86::InstDB;
namespace Inst = asmjit::x86::Inst;

// What the kernel can emit (scripts/kernel-insts; the compiler resolves the names).
constexpr asmjit::InstId kernel_insts[] = {
#include "kernel_insts.inc"
};

std::vector<u8> read_file(const char* path)
{
    std::vector<u8> data;
    FILE* f = fopen(path, "rb");
    if (!f)
        return data;
    u8 buffer[1 << 16];
    usize n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        data.insert(data.end(), buffer, buffer + n);
    fclose(f);
    return data;
}

struct Symbol {
    std::string name;  // mangled
    u64 address;
    u64 size;
};

kl::ErrorOr<std::vector<Symbol>> read_symbols(const std::vector<u8>& elf, const char* path)
{
    const auto* header = reinterpret_cast<const Elf64_Ehdr*>(elf.data());
    if (elf.size() < sizeof(Elf64_Ehdr) || memcmp(header->e_ident, ELFMAG, SELFMAG) != 0
        || header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_shentsize != sizeof(Elf64_Shdr)
        || header->e_shoff + u64(header->e_shnum) * sizeof(Elf64_Shdr) > elf.size())
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "%s is not a 64-bit ELF file", path);
    const auto* sections = reinterpret_cast<const Elf64_Shdr*>(elf.data() + header->e_shoff);
    std::vector<Symbol> symbols;
    for (u32 i = 0; i < header->e_shnum; ++i) {
        const Elf64_Shdr& table = sections[i];
        if (table.sh_type != SHT_SYMTAB || table.sh_link >= header->e_shnum)
            continue;
        const Elf64_Shdr& strings = sections[table.sh_link];
        if (table.sh_offset + table.sh_size > elf.size() || strings.sh_offset + strings.sh_size > elf.size())
            return kl::Error::make(kl::ErrorCode::InvalidArgument, "%s: symbol table out of the file", path);
        const auto* syms = reinterpret_cast<const Elf64_Sym*>(elf.data() + table.sh_offset);
        for (u64 k = 0; k < table.sh_size / sizeof(Elf64_Sym); ++k)
            if (syms[k].st_shndx != SHN_UNDEF && syms[k].st_name < strings.sh_size)
                symbols.push_back({ std::string(reinterpret_cast<const char*>(elf.data() + strings.sh_offset + syms[k].st_name),
                                        strnlen(reinterpret_cast<const char*>(elf.data() + strings.sh_offset + syms[k].st_name),
                                            strings.sh_size - syms[k].st_name)),
                    syms[k].st_value, syms[k].st_size });
    }
    return symbols;
}

// The one symbol whose (mangled) name ends in `suffix`.
kl::ErrorOr<Symbol> find_symbol(const std::vector<Symbol>& symbols, const char* suffix)
{
    const Symbol* found = nullptr;
    const usize length = strlen(suffix);
    for (const Symbol& s : symbols) {
        if (s.name.size() < length || s.name.compare(s.name.size() - length, length, suffix) != 0)
            continue;
        if (found)
            return kl::Error::make(kl::ErrorCode::InvalidArgument, "two symbols end in %s", suffix);
        found = &s;
    }
    if (!found)
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "no symbol ends in %s", suffix);
    return *found;
}

// One of asmjit's tables: where it is in the image and in this program.
struct Table {
    const char* name;
    const char* symbol;  // mangled-name suffix
    const void* host;    // the same table in this program's asmjit
    usize entry_size;
    usize count;         // entries
    u8* image = nullptr; // the table in KERNEL.raw
    std::vector<bool> used {};
};

// The kernel image as it runs: raw[0] is at __kernel_start (kernel_lib/arch/x86_64/kernel.ld).
struct Image {
    std::vector<u8> bytes;
    u64 base;
};

kl::ErrorOr<void> locate(Table& table, Image& image, const std::vector<Symbol>& symbols)
{
    const Symbol s = TRY(find_symbol(symbols, table.symbol));
    if (s.size != table.count * table.entry_size)
        return kl::Error::make(kl::ErrorCode::InvalidArgument,
            "asmjit's %s is %llu bytes in the kernel, not %zu entries x %zu bytes: a different asmjit or table layout",
            table.name, static_cast<unsigned long long>(s.size), table.count, table.entry_size);
    if (s.address < image.base || s.address - image.base + s.size > image.bytes.size())
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "asmjit's %s lies outside the kernel image", table.name);
    table.image = image.bytes.data() + (s.address - image.base);
    if (memcmp(table.image, table.host, s.size) != 0)
        return kl::Error::make(kl::ErrorCode::InvalidArgument,
            "asmjit's %s in the kernel differs from this tool's asmjit (pruned twice, or built from another source)", table.name);
    table.used.assign(table.count, false);
    return {};
}

// Zeroes the entries nothing marked used; returns how many are kept.
usize prune(Table& table)
{
    usize kept = 0;
    for (usize i = 0; i < table.count; ++i) {
        if (table.used[i])
            ++kept;
        else
            memset(table.image + i * table.entry_size, 0, table.entry_size);
    }
    return kept;
}

kl::ErrorOr<Image> read_image(const char* raw_path, const std::vector<Symbol>& symbols)
{
    Image image { read_file(raw_path), 0 };
    const Symbol start = TRY(find_symbol(symbols, "__kernel_start"));
    const Symbol end = TRY(find_symbol(symbols, "__image_end"));
    if (image.bytes.empty() || end.address - start.address != image.bytes.size())
        return kl::Error::make(kl::ErrorCode::InvalidArgument, "%s is %zu bytes, the ELF's image %llu: not its flat image",
            raw_path, image.bytes.size(), static_cast<unsigned long long>(end.address - start.address));
    image.base = start.address;
    return image;
}

kl::ErrorOr<void> run(const char* elf_path, const char* raw_path, const char* out_path)
{
    const std::vector<u8> elf = read_file(elf_path);
    const std::vector<Symbol> symbols = TRY(read_symbols(elf, elf_path));
    Image image = TRY(read_image(raw_path, symbols));

    // The tables behind InstInfo hold exactly the entries some instruction refers to
    // (asmjit generates them so), so the highest index in use gives their length.
    const InstDB::InstInfo* infos = InstDB::_instInfoTable;
    usize common = 0, main_opcodes = 0, alt_opcodes = 0;
    for (u32 id = 0; id < Inst::_kIdCount; ++id) {
        common = std::max<usize>(common, infos[id]._commonInfoIndex + 1u);
        main_opcodes = std::max<usize>(main_opcodes, infos[id]._mainOpcodeIndex + 1u);
        alt_opcodes = std::max<usize>(alt_opcodes, infos[id]._altOpcodeIndex + 1u);
    }
    // The kernel's asmjit has no instruction names (ASMJIT_NO_TEXT): its rows hold 0 where
    // ours index the names.
    std::vector<InstDB::InstInfo> nameless(infos, infos + Inst::_kIdCount);
    for (InstDB::InstInfo& row : nameless)
        row._nameDataIndex = 0;
    Table info { "_instInfoTable", "6InstDB14_instInfoTableE", nameless.data(), sizeof(InstDB::InstInfo), Inst::_kIdCount };
    Table common_info { "_commonInfoTable", "6InstDB16_commonInfoTableE", InstDB::_commonInfoTable, sizeof(InstDB::CommonInfo), common };
    Table main_opcode { "_mainOpcodeTable", "6InstDB16_mainOpcodeTableE", InstDB::_mainOpcodeTable, sizeof(u32), main_opcodes };
    Table alt_opcode { "_altOpcodeTable", "6InstDB15_altOpcodeTableE", InstDB::_altOpcodeTable, sizeof(u32), alt_opcodes };
    for (Table* t : { &info, &common_info, &main_opcode, &alt_opcode })
        TRY(locate(*t, image, symbols));

    info.used[Inst::kIdNone] = true;
    for (asmjit::InstId id : kernel_insts) {
        info.used[id] = true;
        common_info.used[infos[id]._commonInfoIndex] = true;
        main_opcode.used[infos[id]._mainOpcodeIndex] = true;
        alt_opcode.used[infos[id]._altOpcodeIndex] = true;
    }
    const usize kept_insts = prune(info) - 1;  // kIdNone is no instruction
    const usize kept_common = prune(common_info), kept_main = prune(main_opcode), kept_alt = prune(alt_opcode);
    printf("  PRUNE  %s: asmjit's tables keep %zu of %zu instructions, %zu of %zu common infos, %zu of %zu main and "
           "%zu of %zu alternative opcodes\n", out_path, kept_insts, info.count - 1, kept_common, common_info.count,
        kept_main, main_opcode.count, kept_alt, alt_opcode.count);

    // Written aside and renamed: a half-written image must not look up to date to make.
    const std::string temporary = std::string(out_path) + ".tmp";
    FILE* f = fopen(temporary.c_str(), "wb");
    if (!f || fwrite(image.bytes.data(), 1, image.bytes.size(), f) != image.bytes.size() || fclose(f) != 0
        || rename(temporary.c_str(), out_path) != 0)
        return kl::Error::make(kl::ErrorCode::IoWrite, "cannot write %s", out_path);
    return {};
}

void print_kept_encodings()
{
    std::vector<bool> kept(InstDB::kEncodingCount, false);
    for (asmjit::InstId id : kernel_insts)
        kept[InstDB::_instInfoTable[id]._encoding] = true;
    const char* separator = "";
    for (u32 encoding = 0; encoding < kept.size(); ++encoding) {
        if (kept[encoding]) {
            printf("%s%u", separator, encoding);
            separator = " ";
        }
    }
    printf("\n");
}

}

int main(int argc, char** argv)
{
    if (argc == 2 && strcmp(argv[1], "--kept-encodings") == 0) {
        print_kept_encodings();
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: prune-asmjit KERNEL.elf FLAT.raw OUT.raw | --kept-encodings\n");
        return 2;
    }
    auto result = run(argv[1], argv[2], argv[3]);
    if (result.is_error()) {
        fprintf(stderr, "prune-asmjit: %s (%s not written)\n", result.error().message(), argv[3]);
        return 1;
    }
    return 0;
}
