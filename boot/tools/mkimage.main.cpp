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
        "With mode serve the kernel defaults to build/kernel-serve.bin (the one with the network);\n"
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

Options parse_options(int argc, char** argv)
{
    Options o;
    bool tokenizer_given = false, kernel_given = false, symbols_given = false;
    auto need = [&](int& i) -> const char* {
        if (i + 1 >= argc) {
            usage();
            die(static_cast<int>(kl::ErrorCode::UsageError), "%s needs a value", argv[i]);
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-o" || a == "--output")
            o.output = need(i);
        else if (a == "--kernel") {
            o.kernel = need(i);
            kernel_given = true;
        }
        else if (a == "--stage1")
            o.stage1 = need(i);
        else if (a == "--stage2")
            o.stage2 = need(i);
        else if (a == "--symbols") {
            o.symbols = need(i);
            symbols_given = true;
        }
        else if (a == "--esp")
            o.esp = need(i);
        else if (a == "--model")
            o.model = need(i);
        else if (a == "--tokenizer") {
            o.tokenizer = need(i);
            tokenizer_given = true;
        } else if (a == "--profile")
            o.profile = need(i);
        else if (a == "--prompt")
            o.settings.emplace_back("prompt", need(i));
        else if (a == "--steps")
            o.settings.emplace_back("steps", need(i));
        else if (a == "--temp")
            o.settings.emplace_back("temp", need(i));
        else if (a == "--topp")
            o.settings.emplace_back("topp", need(i));
        else if (a == "--seed")
            o.settings.emplace_back("seed", need(i));
        else if (a == "--mode")
            o.settings.emplace_back("mode", need(i));
        else if (a == "--jit")
            o.settings.emplace_back("jit", need(i));
        else if (a == "--set") {
            std::string kv = need(i);
            auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0)
                die(static_cast<int>(kl::ErrorCode::UsageError), "--set needs key=value, got '%s'", kv.c_str());
            o.settings.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
        } else if (a == "--payload") {
            std::string nf = need(i);
            auto eq = nf.find('=');
            if (eq == std::string::npos || eq == 0 || eq >= payload_name_bytes)
                die(static_cast<int>(kl::ErrorCode::UsageError),
                    "--payload needs NAME=FILE with a name of 1 to %u characters, got '%s'", payload_name_bytes - 1,
                    nf.c_str());
            o.extra_payloads.emplace_back(nf.substr(0, eq), nf.substr(eq + 1));
        } else if (a == "--test-payload") {
            const char* v = need(i);
            char* end = nullptr;
            o.test_payload_bytes = strtoull(v, &end, 0);
            if (*end != 0 || o.test_payload_bytes == 0 || o.test_payload_bytes > (1ull << 31))
                die(static_cast<int>(kl::ErrorCode::UsageError), "--test-payload needs a size from 1 to 2^31 bytes");
        } else if (a == "--raw-settings")
            o.raw_settings = need(i);
        else if (a == "--no-check")
            o.check = false;
        else if (a == "--quiet" || a == "-q")
            o.quiet = true;
        else if (a == "-h" || a == "--help") {
            usage();
            exit(0);
        } else {
            usage();
            die(static_cast<int>(kl::ErrorCode::UsageError), "unknown option '%s'", a.c_str());
        }
    }
    if (o.output.empty()) {
        usage();
        die(static_cast<int>(kl::ErrorCode::UsageError), "no output file given (-o OUT)");
    }
    // Raw settings exist to test the kernel's own settings checks, so they are only taken
    // together with --no-check, and never mixed with settings mkimage would write.
    if (!o.raw_settings.empty() && (o.check || !o.settings.empty()))
        die(static_cast<int>(kl::ErrorCode::UsageError),
            "--raw-settings FILE is for testing the kernel's checks: it needs --no-check and no other settings options");
    if (is_gguf_name(o.model)) {
        if (tokenizer_given)
            die(static_cast<int>(kl::ErrorCode::UsageError), "%s is a GGUF model, which holds its own tokenizer: drop --tokenizer",
                o.model.c_str());
    } else if (!tokenizer_given) {
        o.tokenizer = default_tokenizer_for(o.model);
    }
    // Only the serve kernel has the network MODE=serve needs.
    for (const auto& [key, value] : o.settings) {
        if (key == "mode" && value == "serve") {
            if (!kernel_given)
                o.kernel = "build/kernel-serve.bin";
            if (!symbols_given)
                o.symbols = "build/kernel-serve.syms";
        }
    }
    return o;
}

// The settings payload: key=value lines, checked with the kernel's parser.
std::string build_settings(const Options& o, const std::string& model_path)
{
    std::string text = "# BareFlow boot settings (written by scripts/mkimage)\n";
    auto slash = model_path.find_last_of('/');
    auto settings = o.settings;
    settings.emplace_back("model_name", slash == std::string::npos ? model_path : model_path.substr(slash + 1));
    for (auto& [key, value] : settings) {
        std::vector<char> escaped(value.size() * 2 + 1);
        kl::escape_value(value.c_str(), escaped.data(), escaped.size());
        text += key + "=" + escaped.data() + "\n";
    }
    std::vector<char> scratch(text.size() * 2 + 2);
    auto parsed = tllama::parse_boot_settings(text.data(), text.size(), scratch.data());
    if (parsed.is_error())
        die(parsed.error().exit_status(), "%s", parsed.error().message());
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

}

int main(int argc, char** argv)
{
    Options o = parse_options(argc, argv);

    std::vector<u8> stage1 = read_file(o.stage1, "stage1");
    std::vector<u8> stage2 = read_file(o.stage2, "stage2");
    if (stage1.size() != sector_size)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage1 %s is %zu bytes; it must be exactly 512", o.stage1.c_str(),
            stage1.size());
    if (stage1[boot_signature_offset] != 0x55 || stage1[boot_signature_offset + 1] != 0xAA ||
        memcmp(&stage1[stage1_slot_magic], "BFS1", 4) != 0)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage1 %s lacks the 55 AA signature or its BFS1 slots",
            o.stage1.c_str());
    if (memcmp(&stage2[stage2_slot_magic], "BFS2", 4) != 0)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage2 %s lacks its BFS2 signature", o.stage2.c_str());
    u64 stage2_sectors = sectors_for(stage2.size());
    if (stage2_sectors > stage2_max_sectors)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "stage2 is %zu bytes (%llu sectors); its slot holds %u sectors",
            stage2.size(), static_cast<unsigned long long>(stage2_sectors), stage2_max_sectors);

    std::string model_path = resolve_model_file(o.model, "model");
    const bool gguf = is_gguf_name(o.model);
    std::string tokenizer_path = gguf ? "" : resolve_model_file(o.tokenizer, "tokenizer");

    std::vector<Payload> payloads;
    payloads.push_back({ "kernel", read_file(o.kernel, "kernel") });
    if (payloads[0].data.size() > kernel_max_bytes)
        die(static_cast<int>(kl::ErrorCode::BootKernel), "kernel %s is %zu bytes; at most %llu fit below the payloads",
            o.kernel.c_str(), payloads[0].data.size(), static_cast<unsigned long long>(kernel_max_bytes));
    std::string settings;
    if (o.raw_settings.empty()) {
        settings = build_settings(o, model_path);
    } else {
        std::vector<u8> raw = read_file(o.raw_settings, "raw settings");
        settings.assign(raw.begin(), raw.end());
    }
    payloads.push_back({ "settings", std::vector<u8>(settings.begin(), settings.end()) });
    if (!o.symbols.empty())
        payloads.push_back({ "ksyms", read_file(o.symbols, "kernel symbol table") });
    if (!gguf)
        payloads.push_back({ "tokenizer", read_file(tokenizer_path, "tokenizer") });
    if (!o.profile.empty())
        payloads.push_back({ "profile", read_file(o.profile, "profile") });
    for (auto& [name, file] : o.extra_payloads)
        payloads.push_back({ name, read_file(file, "payload") });
    payloads.push_back({ "model", read_file(model_path, "model") });
    if (o.test_payload_bytes) {
        // Deterministic bytes whose CRC the kernel's self-test checks after loading.
        Payload blob { "testblob", std::vector<u8>(o.test_payload_bytes) };
        u64 state = 0x9E3779B97F4A7C15ull;
        for (auto& byte : blob.data) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            byte = static_cast<u8>(state >> 24);
        }
        payloads.push_back(std::move(blob));
    }
    if (payloads.size() > directory_max_entries)
        die(static_cast<int>(kl::ErrorCode::UsageError), "%zu payloads; the directory holds at most %u",
            payloads.size(), directory_max_entries);

    if (o.check) {
        const Payload* model = nullptr;
        const Payload* tokenizer = nullptr;
        for (auto& p : payloads) {
            if (p.name == "model")
                model = &p;
            if (p.name == "tokenizer")
                tokenizer = &p;
        }
        auto checked = gguf ? check_gguf_model(model->data, model_path)
                            : check_model_and_tokenizer(model->data, tokenizer->data, model_path, tokenizer_path);
        if (checked.is_error())
            die(checked.error().exit_status(), "%s (use --no-check to build the image anyway)",
                checked.error().message());
    }

    // Place everything: stage2 from LBA 1, the directory after it, then the payloads.
    u64 directory_lba = 1 + stage2_sectors;
    std::vector<u64> lbas;
    u64 lba = directory_lba + 1;
    for (auto& p : payloads) {
        lbas.push_back(lba);
        lba += sectors_for(p.data.size());
    }
    u64 image_sectors = lba;
    u64 esp_lba = (image_sectors + esp_alignment_sectors - 1) / esp_alignment_sectors * esp_alignment_sectors;
    std::vector<u8> esp = read_esp(o.esp, esp_lba);
    u64 esp_sectors = esp.size() / sector_size;
    if (esp_lba + esp_sectors > 0xFFFFFFFFull)
        die(static_cast<int>(kl::ErrorCode::UsageError), "the image would exceed 2 TiB");

    std::vector<u8> directory(sector_size, 0);
    memcpy(&directory[0], directory_magic, 8);
    put_u32(&directory[8], directory_version);
    put_u32(&directory[12], static_cast<u32>(payloads.size()));
    put_u32(&directory[20], static_cast<u32>(image_sectors));
    for (size_t i = 0; i < payloads.size(); ++i) {
        u8* e = &directory[sizeof(DirectoryHeader) + i * sizeof(DirectoryEntry)];
        memcpy(e, payloads[i].name.c_str(), payloads[i].name.size());
        put_u64(e + 16, lbas[i]);
        put_u64(e + 24, payloads[i].data.size());
        put_u32(e + 32, kl::crc32c(payloads[i].data.data(), payloads[i].data.size()));
    }
    put_u32(&directory[16], kl::crc32c(directory.data(), directory.size()));
    // Self-check: the directory must pass the rules stage2 applies (kernel_lib/boot/directory.h).
    auto directory_ok = validate_directory(directory.data(), image_sectors, directory_lba);
    if (directory_ok.is_error())
        die(directory_ok.error().exit_status(), "the payload directory fails its own check: %s",
            directory_ok.error().message());

    // Patch the slots and the partition table.
    put_u16(&stage1[stage1_slot_stage2_sectors], static_cast<u16>(stage2_sectors));
    put_u64(&stage1[stage1_slot_stage2_lba], 1);
    put_u64(&stage2[stage2_slot_directory_lba], directory_lba);
    u8* part = &stage1[partition_table_offset];
    memset(part, 0, 4 * partition_entry_bytes);
    put_partition(part, partition_type_payloads, true, directory_lba, image_sectors - directory_lba);
    put_partition(part + partition_entry_bytes, partition_type_esp, false, esp_lba, esp_sectors);

    std::string tmp = o.output + ".tmp";
    FILE* out = fopen(tmp.c_str(), "wb");
    if (!out)
        die(static_cast<int>(kl::ErrorCode::IoOpen), "cannot create %s: %s", tmp.c_str(), strerror(errno));
    auto write_padded = [&](const std::vector<u8>& data, const char* what) {
        static const u8 zeros[sector_size] = {};
        size_t pad = sectors_for(data.size()) * sector_size - data.size();
        if ((!data.empty() && fwrite(data.data(), 1, data.size(), out) != data.size()) ||
            (pad && fwrite(zeros, 1, pad, out) != pad))
            die(static_cast<int>(kl::ErrorCode::IoWrite), "writing %s to %s failed: %s", what, tmp.c_str(),
                strerror(errno));
    };
    write_padded(stage1, "stage1");
    write_padded(stage2, "stage2");
    write_padded(directory, "the payload directory");
    for (auto& p : payloads)
        write_padded(p.data, p.name.c_str());
    write_padded(std::vector<u8>((esp_lba - image_sectors) * sector_size), "the gap before the EFI system partition");
    write_padded(esp, "the EFI system partition");
    if (fclose(out) != 0)
        die(static_cast<int>(kl::ErrorCode::IoWrite), "closing %s failed: %s", tmp.c_str(), strerror(errno));
    if (rename(tmp.c_str(), o.output.c_str()) != 0)
        die(static_cast<int>(kl::ErrorCode::IoWrite), "renaming %s to %s failed: %s", tmp.c_str(), o.output.c_str(),
            strerror(errno));

    if (!o.quiet) {
        u64 total_sectors = esp_lba + esp_sectors;
        fprintf(stderr, "mkimage: %s: %llu sectors (%.1f MiB)\n", o.output.c_str(),
            static_cast<unsigned long long>(total_sectors), total_sectors * 512.0 / (1 << 20));
        fprintf(stderr, "  %-10s LBA %-8s %10s\n", "stage2", "1", (std::to_string(stage2.size()) + " B").c_str());
        for (size_t i = 0; i < payloads.size(); ++i)
            fprintf(stderr, "  %-10s LBA %-8llu %10zu B  crc32c %08x\n", payloads[i].name.c_str(),
                static_cast<unsigned long long>(lbas[i]), payloads[i].data.size(),
                kl::crc32c(payloads[i].data.data(), payloads[i].data.size()));
        fprintf(stderr, "  %-10s LBA %-8llu %10zu B  (FAT, \\EFI\\BOOT\\BOOTX64.EFI)\n", "ESP",
            static_cast<unsigned long long>(esp_lba), esp.size());
    }
    return 0;
}
