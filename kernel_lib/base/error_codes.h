// The stable error codes of BareFlow.
//
// Every failure the kernel, the boot loader or a host tool reports carries one of these.
// The number is also the exit status (`@exit N`, QEMU's exit device, the host tools), so
// numbers never change once published and must stay below 128 (QEMU's isa-debug-exit
// turns status s into process exit code (s << 1) | 1, which must fit a byte).
// The boot loaders (stage1/stage2 and boot/uefi) use the 10..19 range; their numbers are
// mirrored in boot/inc/errors.inc.
// The full list with explanations is in boot/README.md ("Error codes").
#pragma once

#include "kernel_lib/base/types.h"

// X(Name, number, "dotted.name")
#define KL_ERROR_CODES(X)                                        \
    X(Ok, 0, "ok")                                               \
    X(InternalVerify, 1, "internal.verify")                      \
    X(InternalPanic, 2, "internal.panic")                        \
    X(CpuException, 3, "cpu.exception")                          \
    X(SelftestFailed, 5, "selftest.failed")                      \
    X(BootNoDiskExtensions, 10, "boot.no_disk_extensions")       \
    X(BootDiskRead, 11, "boot.disk_read")                        \
    X(BootNoLongMode, 12, "boot.no_long_mode")                   \
    X(BootA20, 13, "boot.a20")                                   \
    X(BootDirectory, 14, "boot.directory")                       \
    X(BootMemory, 15, "boot.memory")                             \
    X(BootMemoryMap, 16, "boot.memory_map")                      \
    X(BootKernel, 17, "boot.kernel")                             \
    X(BootFirmware, 18, "boot.firmware")                         \
    X(BootInfoInvalid, 20, "boot.info")                          \
    X(PayloadMissing, 21, "payload.missing")                     \
    X(PayloadChecksum, 22, "payload.checksum")                   \
    X(ModelHeader, 30, "model.header")                           \
    X(ModelSize, 31, "model.size")                               \
    X(ModelDims, 32, "model.dims")                               \
    X(ModelQ8Header, 33, "model.q8_header")                      \
    X(GgufHeader, 34, "gguf.header")                             \
    X(GgufTruncated, 35, "gguf.truncated")                       \
    X(GgufMetadata, 36, "gguf.metadata")                         \
    X(GgufTensor, 37, "gguf.tensor")                             \
    X(GgufModel, 38, "gguf.model")                               \
    X(TokenizerInvalid, 40, "tokenizer.invalid")                 \
    X(TokenizerTruncated, 41, "tokenizer.truncated")             \
    X(TokenizerMismatch, 42, "tokenizer.mismatch")               \
    X(PromptTooLong, 43, "prompt.too_long")                      \
    X(TokenizerUnsupported, 44, "tokenizer.unsupported")         \
    X(SettingsUnknownKey, 50, "settings.unknown_key")            \
    X(SettingsBadValue, 51, "settings.bad_value")                \
    X(SettingsSyntax, 52, "settings.syntax")                     \
    X(OutOfMemory, 60, "mem.out_of_memory")                      \
    X(MemoryCorrupted, 61, "mem.corrupted")                      \
    X(MemoryTooSmall, 62, "mem.too_small")                       \
    X(JitUnsupported, 70, "jit.unsupported")                     \
    X(JitEmit, 71, "jit.emit")                                   \
    X(JitArenaFull, 72, "jit.arena_full")                        \
    X(JitFault, 73, "jit.fault")                                 \
    X(JitMismatch, 74, "jit.mismatch")                           \
    X(IoOpen, 80, "io.open")                                     \
    X(IoRead, 81, "io.read")                                     \
    X(IoWrite, 82, "io.write")                                   \
    X(UsageError, 90, "usage")                                   \
    X(Interrupted, 91, "interrupted")                            \
    X(InvalidArgument, 92, "invalid_argument")                   \
    X(JsonInvalid, 93, "json.invalid")                           \
    X(NetDevice, 100, "net.device")                              \
    X(NetSetup, 101, "net.setup")

namespace kl {

enum class ErrorCode : u8 {
#define KL_ERROR_ENUM(name, number, text) name = number,
    KL_ERROR_CODES(KL_ERROR_ENUM)
#undef KL_ERROR_ENUM
};

// "model.header" for ErrorCode::ModelHeader; "unknown" for numbers not in the table.
const char* error_code_name(ErrorCode code);

}
