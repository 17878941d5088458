// mkimage: builds BareFlow's raw disk image (build/host/mkimage, run via scripts/mkimage).
//
// Layout (boot/README.md): MBR | stage2 | payload directory | kernel | payloads, each on a
// sector boundary, then the EFI system partition (build/esp.img, made by dosfstools and
// mtools, holding the UEFI loader) on the next 1 MiB boundary. The stage1 slots (stage2 LBA
// and length), the two partition entries and the stage2 slot (directory LBA) are patched
// here; every payload gets a CRC-32C in the directory, which the loaders and the kernel check. The boot settings are written as the
// "settings" payload and validated with the kernel's own parser; the model and tokenizer
// are validated with the engine's loaders unless --no-check is given.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "boot/tools/image_checks.h"
#include "kernel_lib/boot/bootinfo.h"
#include "kernel_lib/boot/directory.h"
#include "kernel_lib/codec/crc32c.h"
#include "kernel_lib/text/keyvalue.h"
#include "tinyllama/kernel_app/boot_settings.h"

namespace {

using namespace kl::boot;

struct Options {
    std::string output;
    std::string stage1 = "build/stage1.bin";
    std::string stage2 = "build/stage2.bin";
    std::string kernel = "build/kernel.bin";
    std::string symbols = "build/kernel.syms";
    std::string esp = "build/esp.img";
    std::string model = "stories260K.bin";
    std::string tokenizer;  // default: derived from the model (tok512.bin for stories260K)
    std::string profile;
    std::string raw_settings;  // --raw-settings: the settings payload as given, unvalidated
    std::vector<std::pair<std::string, std::string>> settings;  // key, value in order
    std::vector<std::pair<std::string, std::string>> extra_payloads;  // name, file
    u64 test_payload_bytes = 0;
    bool check = true;
    bool quiet = false;
    std::vector<std::string> given;  // the path options on the command line

    bool was_given(const char* option) const
    {
        for (const std::string& g : given) {
            if (g == option)
                return true;
        }
        return false;
    }
};

[[noreturn]] void die(int status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void die(int status, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "mkimage: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
    exit(status);
}

void usage()
{
    fprintf(stderr,
        "usage: scripts/mkimage -o OUT [--kernel build/kernel.bin] [--model M] [--tokenizer T]\n"
        "         [--prompt TEXT] [--steps N] [--temp X] [--topp X] [--seed N]\n"
        "         [--mode generate|interactive|bench|selftest|serve|chat] [--jit on|off] [--no-check]\n"
        "         [--set key=value]... [--payload NAME=FILE]... [--profile FILE]\n"
        "         [--test-payload BYTES] [--stage1 F] [--stage2 F] [--symbols F] [--esp F] [--quiet]\n"
        "         [--raw-settings FILE --no-check]\n"
        "M and T are paths or file names looked up in ./models and $BAREFLOW_MODEL_PATH.\n"
        "A GGUF model (M ending in .gguf) carries its own tokenizer: no T, no tokenizer payload.\n"
        "With mode serve the kernel defaults to build/kernel-serve.bin (the one with the network),\n"
        "with mode bench or selftest or --set jit_dump=on to build/kernel-dev.bin (the developer kernel);\n"
        "its settings: --set net=dhcp|off, ip=A.B.C.D[/N], gateway=A.B.C.D, port=N, api_key=KEY.\n");
}

std::vector<u8> read_file(const std::string& path, const char* what)
{
    FILE* f = fopen(path.c_str(), "rb");
    if (!f)
        die(kl::Error::make(kl::ErrorCode::IoOpen, "x").exit_status(), "cannot open %s %s: %s", what, path.c_str(),
            strerror(errno));
    std::vector<u8> data;
    u8 buffer[1 << 16];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
        data.insert(data.end(), buffer, buffer + n);
    if (ferror(f))
        die(static_cast<int>(kl::ErrorCode::IoRead), "reading %s %s failed: %s", what, path.c_str(), strerror(errno));
    fclose(f);
    return data;
}

// Options that become one boot setting each (--steps 64 is --set steps=64).
constexpr struct {
    const char* option;
    const char* key;
} setting_options[] = {
    { "--prompt", "prompt" }, { "--steps", "steps" }, { "--temp", "temp" }, { "--topp", "topp" },
    { "--seed", "seed" }, { "--mode", "mode" }, { "--jit", "jit" },
};

// Options that name a file: where each one's value goes.
struct PathOption {
    const char* option;
    std::string Options::*member;
};
constexpr PathOption path_options[] = {
    { "-o", &Options::output }, { "--output", &Options::output }, { "--kernel", &Options::kernel },
    { "--stage1", &Options::stage1 }, { "--stage2", &Options::stage2 }, { "--symbols", &Options::symbols },
    { "--esp", &Options::esp }, { "--model", &Options::model }, { "--tokenizer", &Options::tokenizer },
    { "--profile", &Options::profile }, { "--raw-settings", &Options::raw_settings },
};

[[noreturn]] void usage_error(const char* fmt, const char* value)
{
    usage();
    die(static_cast<int>(kl::ErrorCode::UsageError), fmt, value);
}

// "key=value" for --set and "NAME=FILE" for --payload, split at the first '='.
std::pair<std::string, std::string> split_pair(const std::string& text, usize max_key, const char* message)
{
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq > max_key)
        usage_error(message, text.c_str());
    return { text.substr(0, eq), text.substr(eq + 1) };
}

// One option with its value; false if `a` is not a valued option.
bool take_valued_option(Options& o, const std::string& a, const char* value)
{
    for (const auto& s : setting_options) {
        if (a == s.option) {
            o.settings.emplace_back(s.key, value);
            return true;
        }
    }
    for (const PathOption& p : path_options) {
        if (a == p.option) {
            o.*p.member = value;
            o.given.push_back(p.option);
            return true;
        }
    }
    if (a == "--set") {
        o.settings.push_back(split_pair(value, ~0ull, "--set needs key=value, got '%s'"));
    } else if (a == "--payload") {
        o.extra_payloads.push_back(split_pair(value, payload_name_bytes - 1,
            "--payload needs NAME=FILE with a name of 1 to 15 characters, got '%s'"));
    } else if (a == "--test-payload") {
        char* end = nullptr;
        o.test_payload_bytes = strtoull(value, &end, 0);
        if (*end != 0 || o.test_payload_bytes == 0 || o.test_payload_bytes > (1ull << 31))
            usage_error("--test-payload needs a size from 1 to 2^31 bytes, got '%s'", value);
    } else {
        return false;
    }
    return true;
}

// key=value lines, as the settings payload holds them.
std::string settings_text(const std::vector<std::pair<std::string, std::string>>& settings)
{
    std::string text = "# BareFlow boot settings (written by scripts/mkimage)\n";
    for (auto& [key, value] : settings) {
        std::vector<char> escaped(value.size() * 2 + 1);
        kl::escape_value(value.c_str(), escaped.data(), escaped.size());
        text += key + "=" + escaped.data() + "\n";
    }
    return text;
}

// The settings as the kernel will read them (its own parser); the strings point into scratch.
struct ParsedSettings {
    std::vector<char> scratch;
    tllama::BootSettings value;
};
ParsedSettings parse_settings(const std::string& text)
{
    ParsedSettings parsed { std::vector<char>(text.size() * 2 + 2), {} };
    auto result = tllama::parse_boot_settings(text.data(), text.size(), parsed.scratch.data());
    if (result.is_error())
        die(result.error().exit_status(), "%s", result.error().message());
    parsed.value = result.value();
    return parsed;
}

// The kernel build other than build/kernel.bin that the settings need, or null.
const char* kernel_for(const tllama::BootSettings& settings)
{
    if (settings.mode == tllama::RunMode::Serve)
        return "kernel-serve";
    if (settings.mode == tllama::RunMode::Bench || settings.mode == tllama::RunMode::Selftest || settings.jit_dump)
        return "kernel-dev";
    return nullptr;
}

// Defaults that depend on other options: the tokenizer of the model, the serve or
// developer kernel.
void complete_options(Options& o)
{
    if (o.output.empty())
        usage_error("%s", "no output file given (-o OUT)");
    // Raw settings exist to test the kernel's own settings checks, so they are only taken
    // together with --no-check, and never mixed with settings mkimage would write.
    if (!o.raw_settings.empty() && (o.check || !o.settings.empty()))
        die(static_cast<int>(kl::ErrorCode::UsageError),
            "--raw-settings FILE is for testing the kernel's checks: it needs --no-check and no other settings options");
    if (is_gguf_name(o.model)) {
        if (o.was_given("--tokenizer"))
            die(static_cast<int>(kl::ErrorCode::UsageError), "%s is a GGUF model, which holds its own tokenizer: drop --tokenizer",
                o.model.c_str());
    } else if (!o.was_given("--tokenizer")) {
        o.tokenizer = default_tokenizer_for(o.model);
    }
    // Only the serve kernel has the network MODE=serve needs, only the developer kernel
    // MODE=bench, MODE=selftest and jit_dump=on.
    if (o.raw_settings.empty()) {
        const char* kernel = kernel_for(parse_settings(settings_text(o.settings)).value);
        if (kernel && !o.was_given("--kernel")) {
            o.kernel = std::string("build/") + kernel + ".bin";
            if (access(o.kernel.c_str(), R_OK) != 0)
                die(static_cast<int>(kl::ErrorCode::IoOpen), "these settings boot %s, which is not built yet: make %s",
                    o.kernel.c_str(), o.kernel.c_str());
        }
        if (kernel && !o.was_given("--symbols"))
            o.symbols = std::string("build/") + kernel + ".syms";
    }
}

Options parse_options(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--no-check") {
            o.check = false;
        } else if (a == "--quiet" || a == "-q") {
            o.quiet = true;
        } else if (a == "-h" || a == "--help") {
            usage();
            exit(0);
        } else if (i + 1 < argc && take_valued_option(o, a, argv[i + 1])) {
            ++i;
        } else {
            usage_error(i + 1 < argc ? "unknown option '%s'" : "'%s' is unknown or needs a value", a.c_str());
        }
    }
    complete_options(o);
    return o;
}

// The settings payload: key=value lines, checked with the kernel's parser.
std::string build_settings(const Options& o, const std::string& model_path)
{
    auto slash = model_path.find_last_of('/');
    auto settings = o.settings;
    settings.emplace_back("model_name", slash == std::string::npos ? model_path : model_path.substr(slash + 1));
    std::string text = settings_text(settings);
    parse_settings(text);
    return text;
}

struct Payload {
    std::string name;
    std::vector<u8> data;
};

void put_u16(u8* p, u16 v) { memcpy(p, &v, 2); }
void put_u32(u8* p, u32 v) { memcpy(p, &v, 4); }
void put_u64(u8* p, u64 v) { memcpy(p, &v, 8); }

// CHS for a partition entry, with the usual 255 heads x 63 sectors geometry; addresses
// beyond what CHS can express get the 1023/254/63 marker.
void put_chs(u8* p, u64 lba)
{
    u64 cylinder = lba / (255 * 63);
    u64 head = (lba / 63) % 255;
    u64 sector = lba % 63 + 1;
    if (cylinder > 1023) {
        cylinder = 1023;
        head = 254;
        sector = 63;
    }
    p[0] = static_cast<u8>(head);
    p[1] = static_cast<u8>((sector & 0x3F) | ((cylinder >> 2) & 0xC0));
    p[2] = static_cast<u8>(cylinder & 0xFF);
}

u64 sectors_for(u64 bytes) { return (bytes + sector_size - 1) / sector_size; }

constexpr u64 esp_alignment_sectors = 2048;  // 1 MiB, where partitioning tools start them

// The EFI system partition image as dosfstools made it: whole sectors, a FAT boot sector
// (55 AA) with 512-byte sectors. Its BPB's hidden-sector count is set to where it lands.
std::vector<u8> read_esp(const std::string& path, u64 start_lba)
{
    std::vector<u8> esp = read_file(path, "EFI system partition image");
    u16 bytes_per_sector = esp.size() >= sector_size ? static_cast<u16>(esp[11] | (esp[12] << 8)) : 0;
    if (esp.empty() || esp.size() % sector_size != 0 || esp[510] != 0x55 || esp[511] != 0xAA ||
        bytes_per_sector != sector_size)
        die(static_cast<int>(kl::ErrorCode::BootKernel),
            "%s is not a FAT image with 512-byte sectors (rebuild it with make build/esp.img)", path.c_str());
    put_u32(&esp[28], static_cast<u32>(start_lba));  // BPB_HiddSec
    return esp;
}

void put_partition(u8* entry, u8 type, bool active, u64 first_lba, u64 sectors)
{
    memset(entry, 0, partition_entry_bytes);
    entry[0] = active ? 0x80 : 0x00;
    put_chs(entry + 1, first_lba);
    entry[4] = type;
    put_chs(entry + 5, first_lba + sectors - 1);
    put_u32(entry + 8, static_cast<u32>(first_lba));
    put_u32(entry + 12, static_cast<u32>(sectors));
}

// stage1 and stage2 as built, checked for their signatures and slots.
struct BootStages {
    std::vector<u8> stage1, stage2;
    u64 stage2_sectors;
};

BootStages read_boot_stages(const Options& o)
{
    BootStages b { read_file(o.stage1, "stage1"), read_file(o.stage2, "stage2"), 0 };
    if (b.stage1.size() != sector_size)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage1 %s is %zu bytes; it must be exactly 512", o.stage1.c_str(),
            b.stage1.size());
    if (b.stage1[boot_signature_offset] != 0x55 || b.stage1[boot_signature_offset + 1] != 0xAA ||
        memcmp(&b.stage1[stage1_slot_magic], "BFS1", 4) != 0)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage1 %s lacks the 55 AA signature or its BFS1 slots",
            o.stage1.c_str());
    if (memcmp(&b.stage2[stage2_slot_magic], "BFS2", 4) != 0)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage2 %s lacks its BFS2 signature", o.stage2.c_str());
    b.stage2_sectors = sectors_for(b.stage2.size());
    if (b.stage2_sectors > stage2_max_sectors)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage2 is %zu bytes (%llu sectors); its slot holds %u sectors",
            b.stage2.size(), static_cast<unsigned long long>(b.stage2_sectors), stage2_max_sectors);
    return b;
}

// Deterministic bytes whose CRC the kernel's self-test checks after loading.
Payload test_blob(u64 bytes)
{
    Payload blob { "testblob", std::vector<u8>(bytes) };
    u64 state = 0x9E3779B97F4A7C15ull;
    for (auto& byte : blob.data) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        byte = static_cast<u8>(state >> 24);
    }
    return blob;
}

struct ModelFiles {
    std::string model, tokenizer;  // resolved paths; no tokenizer for a GGUF
    bool gguf;
};

// Every payload in directory order: kernel, settings, symbols, tokenizer, profile, extras,
// model, test blob.
std::vector<Payload> collect_payloads(const Options& o, const ModelFiles& files)
{
    std::vector<Payload> payloads;
    payloads.push_back({ "kernel", read_file(o.kernel, "kernel") });
    if (payloads[0].data.size() > kernel_max_bytes)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "kernel %s is %zu bytes; at most %llu fit below the payloads",
            o.kernel.c_str(), payloads[0].data.size(), static_cast<unsigned long long>(kernel_max_bytes));
    std::string settings;
    if (o.raw_settings.empty()) {
        settings = build_settings(o, files.model);
    } else {
        std::vector<u8> raw = read_file(o.raw_settings, "raw settings");
        settings.assign(raw.begin(), raw.end());
    }
    payloads.push_back({ "settings", std::vector<u8>(settings.begin(), settings.end()) });
    if (!o.symbols.empty())
        payloads.push_back({ "ksyms", read_file(o.symbols, "kernel symbol table") });
    if (!files.gguf)
        payloads.push_back({ "tokenizer", read_file(files.tokenizer, "tokenizer") });
    if (!o.profile.empty())
        payloads.push_back({ "profile", read_file(o.profile, "profile") });
    for (auto& [name, file] : o.extra_payloads)
        payloads.push_back({ name, read_file(file, "payload") });
    payloads.push_back({ "model", read_file(files.model, "model") });
    if (o.test_payload_bytes)
        payloads.push_back(test_blob(o.test_payload_bytes));
    if (payloads.size() > directory_max_entries)
        die(static_cast<int>(kl::ErrorCode::UsageError), "%zu payloads; the directory holds at most %u",
            payloads.size(), directory_max_entries);
    return payloads;
}

const Payload* find_payload(const std::vector<Payload>& payloads, const char* name)
{
    for (const Payload& p : payloads) {
        if (p.name == name)
            return &p;
    }
    return nullptr;
}

// The model and tokenizer through the engine's own loaders.
void check_model(const std::vector<Payload>& payloads, const ModelFiles& files)
{
    const Payload* model = find_payload(payloads, "model");
    auto checked = files.gguf ? check_gguf_model(model->data, files.model)
                              : check_model_and_tokenizer(model->data, find_payload(payloads, "tokenizer")->data,
                                    files.model, files.tokenizer);
    if (checked.is_error())
        die(checked.error().exit_status(), "%s (use --no-check to build the image anyway)", checked.error().message());
}

// Where everything goes: stage2 from LBA 1, the directory after it, the payloads, then the
// EFI system partition on the next 1 MiB boundary.
struct Layout {
    u64 directory_lba;
    std::vector<u64> lbas;  // of each payload
    u64 image_sectors;      // up to the end of the last payload
    u64 esp_lba;
};

Layout plan_layout(const BootStages& stages, const std::vector<Payload>& payloads)
{
    Layout l;
    l.directory_lba = 1 + stages.stage2_sectors;
    u64 lba = l.directory_lba + 1;
    for (auto& p : payloads) {
        l.lbas.push_back(lba);
        lba += sectors_for(p.data.size());
    }
    l.image_sectors = lba;
    l.esp_lba = (l.image_sectors + esp_alignment_sectors - 1) / esp_alignment_sectors * esp_alignment_sectors;
    return l;
}

// The payload directory sector, checked with the rules stage2 applies
// (kernel_lib/boot/directory.h).
std::vector<u8> build_directory(const std::vector<Payload>& payloads, const Layout& l)
{
    std::vector<u8> directory(sector_size, 0);
    memcpy(&directory[0], directory_magic, 8);
    put_u32(&directory[8], directory_version);
    put_u32(&directory[12], static_cast<u32>(payloads.size()));
    put_u32(&directory[20], static_cast<u32>(l.image_sectors));
    for (size_t i = 0; i < payloads.size(); ++i) {
        u8* e = &directory[sizeof(DirectoryHeader) + i * sizeof(DirectoryEntry)];
        memcpy(e, payloads[i].name.c_str(), payloads[i].name.size());
        put_u64(e + 16, l.lbas[i]);
        put_u64(e + 24, payloads[i].data.size());
        put_u32(e + 32, kl::crc32c(payloads[i].data.data(), payloads[i].data.size()));
    }
    put_u32(&directory[16], kl::crc32c(directory.data(), directory.size()));
    auto directory_ok = validate_directory(directory.data(), l.image_sectors, l.directory_lba);
    if (directory_ok.is_error())
        die(directory_ok.error().exit_status(), "the payload directory fails its own check: %s",
            directory_ok.error().message());
    return directory;
}

// The stage1 and stage2 slots and the two partition entries.
void patch_boot_stages(BootStages& b, const Layout& l, u64 esp_sectors)
{
    put_u16(&b.stage1[stage1_slot_stage2_sectors], static_cast<u16>(b.stage2_sectors));
    put_u64(&b.stage1[stage1_slot_stage2_lba], 1);
    put_u64(&b.stage2[stage2_slot_directory_lba], l.directory_lba);
    u8* part = &b.stage1[partition_table_offset];
    memset(part, 0, 4 * partition_entry_bytes);
    put_partition(part, partition_type_payloads, true, l.directory_lba, l.image_sectors - l.directory_lba);
    put_partition(part + partition_entry_bytes, partition_type_esp, false, l.esp_lba, esp_sectors);
}

// Writes `parts` in order, each padded to whole sectors, to OUT.tmp, then renames it to
// OUT: the output is never a half-written image.
void write_image(const std::string& output, const std::vector<std::pair<const std::vector<u8>*, std::string>>& parts)
{
    std::string tmp = output + ".tmp";
    FILE* out = fopen(tmp.c_str(), "wb");
    if (!out)
        die(static_cast<int>(kl::ErrorCode::IoOpen), "cannot create %s: %s", tmp.c_str(), strerror(errno));
    static const u8 zeros[sector_size] = {};
    for (const auto& [data, what] : parts) {
        size_t pad = sectors_for(data->size()) * sector_size - data->size();
        if ((!data->empty() && fwrite(data->data(), 1, data->size(), out) != data->size()) ||
            (pad && fwrite(zeros, 1, pad, out) != pad))
            die(static_cast<int>(kl::ErrorCode::IoWrite), "writing %s to %s failed: %s", what.c_str(), tmp.c_str(),
                strerror(errno));
    }
    if (fclose(out) != 0)
        die(static_cast<int>(kl::ErrorCode::IoWrite), "closing %s failed: %s", tmp.c_str(), strerror(errno));
    if (rename(tmp.c_str(), output.c_str()) != 0)
        die(static_cast<int>(kl::ErrorCode::IoWrite), "renaming %s to %s failed: %s", tmp.c_str(), output.c_str(),
            strerror(errno));
}

void print_summary(const Options& o, const BootStages& b, const std::vector<Payload>& payloads, const Layout& l,
    u64 esp_bytes)
{
    u64 total_sectors = l.esp_lba + esp_bytes / sector_size;
    fprintf(stderr, "mkimage: %s: %llu sectors (%.1f MiB)\n", o.output.c_str(),
        static_cast<unsigned long long>(total_sectors), total_sectors * 512.0 / (1 << 20));
    fprintf(stderr, "  %-10s LBA %-8s %10s\n", "stage2", "1", (std::to_string(b.stage2.size()) + " B").c_str());
    for (size_t i = 0; i < payloads.size(); ++i)
        fprintf(stderr, "  %-10s LBA %-8llu %10zu B  crc32c %08x\n", payloads[i].name.c_str(),
            static_cast<unsigned long long>(l.lbas[i]), payloads[i].data.size(),
            kl::crc32c(payloads[i].data.data(), payloads[i].data.size()));
    fprintf(stderr, "  %-10s LBA %-8llu %10llu B  (FAT, \\EFI\\BOOT\\BOOTX64.EFI)\n", "ESP",
        static_cast<unsigned long long>(l.esp_lba), static_cast<unsigned long long>(esp_bytes));
}

}

int main(int argc, char** argv)
{
    const Options o = parse_options(argc, argv);
    BootStages stages = read_boot_stages(o);
    ModelFiles files { resolve_model_file(o.model, "model"), "", is_gguf_name(o.model) };
    if (!files.gguf)
        files.tokenizer = resolve_model_file(o.tokenizer, "tokenizer");
    const std::vector<Payload> payloads = collect_payloads(o, files);
    if (o.check)
        check_model(payloads, files);

    const Layout layout = plan_layout(stages, payloads);
    const std::vector<u8> esp = read_esp(o.esp, layout.esp_lba);
    if (layout.esp_lba + esp.size() / sector_size > 0xFFFFFFFFull)
        die(static_cast<int>(kl::ErrorCode::UsageError), "the image would exceed 2 TiB");
    const std::vector<u8> directory = build_directory(payloads, layout);
    patch_boot_stages(stages, layout, esp.size() / sector_size);

    const std::vector<u8> gap((layout.esp_lba - layout.image_sectors) * sector_size);
    std::vector<std::pair<const std::vector<u8>*, std::string>> parts = {
        { &stages.stage1, "stage1" }, { &stages.stage2, "stage2" }, { &directory, "the payload directory" } };
    for (const Payload& p : payloads)
        parts.push_back({ &p.data, p.name });
    parts.push_back({ &gap, "the gap before the EFI system partition" });
    parts.push_back({ &esp, "the EFI system partition" });
    write_image(o.output, parts);
    if (!o.quiet)
        print_summary(o, stages, payloads, layout, esp.size());
    return 0;
}
