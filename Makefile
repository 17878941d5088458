# BareFlow — top-level build.
#
# Builds the boot stages (NASM), the freestanding kernel (clang++ + ld.lld), the disk image,
# the host tools and the Catch2 host tests, and runs the QEMU boot tests.
# `make help` lists the targets; ../shared/docs/contract.md is the outside interface.
#
# Source conventions (the Makefile finds sources by name, so new files need no edits here):
#   *.kernel.cpp       built into the kernel only (touches hardware)
#   *.efi.cpp          built into the UEFI loader only (boot/uefi/: calls the firmware)
#   *.host.cpp         built into the host library only (Linux implementations)
#   *.main.cpp         a host program: X.main.cpp becomes build/host/X
#   *.native.cpp       host only, built -O3 -march=native (benchmark baselines)
#   *.cpp (otherwise)  shared: kernel and host library alike
#   kernel_lib/**.asm  kernel assembly (entry, interrupt stubs), NASM, 64-bit ELF
#   tests/host/**.cpp  the Catch2 host test binary build/host/bareflow-tests

.DEFAULT_GOAL := image
SHELL := /bin/bash

BUILD := build
KBUILD := $(BUILD)/kernel
HBUILD := $(BUILD)/host
SBUILD := $(BUILD)/host-san

# ---------------------------------------------------------------------------------------
# Toolchain check: scripts/setup installs what is missing (as root) or says how.
# ---------------------------------------------------------------------------------------
ifeq ($(filter setup help,$(MAKECMDGOALS)),)
ifneq ($(shell scripts/setup --check >/dev/null 2>&1 && echo ok),ok)
$(info make: build tools are missing; running scripts/setup)
$(if $(shell scripts/setup >&2 && echo ok),,$(error scripts/setup could not install the build tools (see above)))
endif
endif

CXX := clang++
LD := ld.lld
NASM := nasm
OBJCOPY := objcopy
OBJDUMP := objdump
NM := nm
CLANG_RESOURCE := $(shell $(CXX) -print-resource-dir 2>/dev/null)

# ---------------------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------------------
WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter

# The kernel: baseline x86-64 (SSE2), so the image boots any 64-bit PC; wider ISAs come
# from the micro-JIT at run time. Headers come only from kernel_lib and clang's own.
KERNEL_CXXFLAGS := --target=x86_64-unknown-none-elf -march=x86-64 -std=c++20 -O2 $(KERNEL_LTO) \
	-ffreestanding -fno-exceptions -fno-rtti -nostdlib -nostdinc -nostdinc++ -static \
	-mno-red-zone -fno-pic -fno-pie -mcmodel=small -fno-asynchronous-unwind-tables \
	-fomit-frame-pointer -ffunction-sections -fdata-sections -fno-threadsafe-statics -fno-math-errno \
	-ffp-contract=off -fmerge-all-constants -fno-stack-protector -fno-builtin-setjmp \
	-isystem kernel_lib/libcxx/include -isystem kernel_lib/libc/include \
	-isystem $(CLANG_RESOURCE)/include -I. -DBAREFLOW_KERNEL=1 $(WARNINGS) $(KERNEL_EXTRA)
KERNEL_NASMFLAGS := -f elf64 -w+all -I boot/inc/ -I kernel_lib/arch/x86_64/
# -O2: ld.lld stores a string that ends another one inside it, and to find those it orders
# the strings by their endings, which the packer's contexts like; 336 bytes of .rodata less,
# 977 bytes packed.
KERNEL_LDFLAGS = -O2 -nostdlib -static --gc-sections --icf=all -z max-page-size=4096 \
	-T kernel_lib/arch/x86_64/kernel.ld $(foreach s,$(ASMJIT_KERNEL_UNUSED),--defsym=$(s)=asmjit_unused_in_kernel)

# -ffp-contract=off everywhere: floating-point results must not depend on whether the
# compiler fused a multiply and an add (the kernel and the host tool print the same text).
HOST_CXXFLAGS := -std=c++20 -O2 -g -march=x86-64 -fno-omit-frame-pointer -ffp-contract=off -I. \
	-DBAREFLOW_HOST=1 $(WARNINGS)
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all

# ---------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------
SRC_DIRS := kernel_lib microjit tinyllama
ALL_CPP := $(shell find $(SRC_DIRS) boot -name '*.cpp' 2>/dev/null | sort)
KERNEL_ALL_CPP := $(filter-out %.host.cpp %.main.cpp %.native.cpp boot/%,$(ALL_CPP))
# The network (kernel_lib/net: PCI, NIC drivers, the lwIP glue, HTTP) and the HTTP API
# (tinyllama/serve) go only into the serve kernel, build/kernel-serve.bin ("Serve kernel"
# below); the kernel `make run` boots has no network code.
SERVE_CPP := $(filter kernel_lib/net/% tinyllama/serve/%,$(KERNEL_ALL_CPP))
# The developer modes (MODE=bench, MODE=selftest, jit_dump=on) go only into the developer
# kernel, build/kernel-dev.bin ("Developer kernel" below), which make bench, make dump-jit
# and the QEMU tests boot; mkimage picks it for those modes.
DEV_CPP := $(filter kernel_lib/selftest/% tinyllama/bench.cpp tinyllama/kernel_app/jit_dump.kernel.cpp,$(KERNEL_ALL_CPP))
KERNEL_CPP := $(filter-out $(SERVE_CPP) $(DEV_CPP),$(KERNEL_ALL_CPP))
KERNEL_ASM := $(shell find kernel_lib -name '*.asm' | sort)
HOST_LIB_CPP := $(filter-out %.kernel.cpp %.efi.cpp %.main.cpp boot/unpack/%,$(ALL_CPP))
HOST_MAIN_CPP := $(filter %.main.cpp,$(ALL_CPP))
HOST_PROGRAMS := $(foreach m,$(HOST_MAIN_CPP),$(HBUILD)/$(notdir $(m:.main.cpp=)))
TEST_CPP := $(shell find tests/host tests/fuzz/targets -name '*.cpp' | sort)

KERNEL_OBJS := $(KERNEL_CPP:%.cpp=$(KBUILD)/obj/%.o) $(KERNEL_ASM:%.asm=$(KBUILD)/obj/%.asm.o)
SERVE_OBJS := $(SERVE_CPP:%.cpp=$(KBUILD)/obj/%.o)
DEV_OBJS := $(DEV_CPP:%.cpp=$(KBUILD)/obj/%.o)
# The unpacker's LZ decoder is assembly (kernel_lib/codec/lz.h); the host tools and tests link it too.
HOST_ASM := kernel_lib/codec/lz_decode.asm
HOST_LIB_OBJS := $(HOST_LIB_CPP:%.cpp=$(HBUILD)/obj/%.o) $(HOST_ASM:%.asm=$(HBUILD)/obj/%.asm.o)
TEST_OBJS := $(TEST_CPP:%.cpp=$(HBUILD)/obj/%.o)
SAN_LIB_OBJS := $(HOST_LIB_CPP:%.cpp=$(SBUILD)/obj/%.o) $(HOST_ASM:%.asm=$(SBUILD)/obj/%.asm.o)
SAN_TEST_OBJS := $(TEST_CPP:%.cpp=$(SBUILD)/obj/%.o)

# ---------------------------------------------------------------------------------------
# asmjit (fetched into build/ by scripts/fetch-asmjit, built twice)
# ---------------------------------------------------------------------------------------
ASMJIT_DIR := $(BUILD)/asmjit-src
ASMJIT_STAMP := $(ASMJIT_DIR)/.fetched
# The kernel's asmjit is asmjit's release build (ASMJIT_BUILD_RELEASE; without NDEBUG it
# would be its debug build): no ASMJIT_ASSERT checks of its internal invariants, and its
# small helpers inlined. The host's asmjit keeps the assertions, and the host tests run every
# generator through it; asmjit reports bad input as errors in both builds. 803 bytes of
# kernel.bin.
ASMJIT_KERNEL_DEFS := -DASMJIT_STATIC -DASMJIT_NO_JIT -DASMJIT_NO_BUILDER -DASMJIT_NO_COMPILER \
	-DASMJIT_NO_LOGGING -DASMJIT_NO_TEXT -DASMJIT_NO_VALIDATION -DASMJIT_NO_INTROSPECTION \
	-DASMJIT_NO_AARCH64 -DASMJIT_NO_FOREIGN -DASMJIT_NO_DEPRECATED -DASMJIT_BUILD_RELEASE
ASMJIT_HOST_DEFS := -DASMJIT_STATIC -DASMJIT_NO_AARCH64 -DASMJIT_NO_FOREIGN -DASMJIT_NO_DEPRECATED
ASMJIT_CPP = $(sort $(wildcard $(ASMJIT_DIR)/src/asmjit/core/*.cpp $(ASMJIT_DIR)/src/asmjit/x86/*.cpp))
# The function-frame helpers the micro-JIT never uses (microjit/asmjit_trim.kernel.cpp).
ASMJIT_KERNEL_SKIP := asmjit/x86/x86emithelper.cpp asmjit/core/emithelper.cpp asmjit/core/funcargscontext.cpp
# The assembler entry points the micro-JIT never calls, pointed at a trap at link time
# (microjit/asmjit_trim.kernel.cpp): BaseAssembler::newNamedLabel, embedLabel,
# embedLabelDelta, embedConstPool and embedDataArray.
ASMJIT_KERNEL_UNUSED := _ZN6asmjit8_abi_1_913BaseAssembler13newNamedLabelEPKcmNS0_9LabelTypeEj \
	_ZN6asmjit8_abi_1_913BaseAssembler10embedLabelERKNS0_5LabelEm \
	_ZN6asmjit8_abi_1_913BaseAssembler15embedLabelDeltaERKNS0_5LabelES4_m \
	_ZN6asmjit8_abi_1_913BaseAssembler14embedConstPoolERKNS0_5LabelERKNS0_9ConstPoolE \
	_ZN6asmjit8_abi_1_913BaseAssembler14embedDataArrayENS0_6TypeIdEPKvmm \
	_ZN6asmjit8_abi_1_913BaseAssembler7sectionEPNS0_7SectionE \
	_ZN6asmjit8_abi_1_911BaseEmitter12_emitOpArrayEjPKNS0_8Operand_Em \
	_ZN6asmjit8_abi_1_910CodeHolder24addAddressToAddressTableEm
# The encoder's switch, cut to the encodings the kernel's instructions use: a generated copy
# of x86assembler.cpp beside the original ("asmjit's instruction tables" below).
ASMJIT_KERNEL_ASSEMBLER := asmjit/kernel/x86assembler.cpp
ASMJIT_KERNEL_OBJS = $(patsubst $(ASMJIT_DIR)/src/%.cpp,$(KBUILD)/asmjit/%.o,\
	$(filter-out $(addprefix $(ASMJIT_DIR)/src/,$(ASMJIT_KERNEL_SKIP) asmjit/x86/x86assembler.cpp),$(ASMJIT_CPP)) \
	$(ASMJIT_DIR)/src/$(ASMJIT_KERNEL_ASSEMBLER))
ASMJIT_HOST_OBJS = $(patsubst $(ASMJIT_DIR)/src/%.cpp,$(HBUILD)/asmjit/%.o,$(ASMJIT_CPP))
ASMJIT_SAN_OBJS = $(patsubst $(ASMJIT_DIR)/src/%.cpp,$(SBUILD)/asmjit/%.o,$(ASMJIT_CPP))

# The asmjit sources are listed in a generated makefile so that a fresh clone fetches them
# first and make restarts with the list known.
$(BUILD)/asmjit.mk: scripts/fetch-asmjit
	@mkdir -p $(BUILD)
	@scripts/fetch-asmjit $(ASMJIT_DIR)
	@echo "# generated: asmjit fetched into $(ASMJIT_DIR)" > $@
ifeq ($(filter setup help clean,$(MAKECMDGOALS)),)
include $(BUILD)/asmjit.mk
endif

ASMJIT_INCLUDE := -isystem $(ASMJIT_DIR)/src

# -Oz without jump tables, like the kernel's own cold code: the encoder's switch, cut to the
# kernel's encodings, packs 287 bytes tighter as a compare chain.
$(KBUILD)/asmjit/%.o: $(ASMJIT_DIR)/src/%.cpp Makefile
	@mkdir -p $(@D)
	@echo "  CXX(k) asmjit/$*"
	@$(CXX) $(filter-out -O2 $(WARNINGS),$(KERNEL_CXXFLAGS)) -Oz -fno-jump-tables \
		-w $(ASMJIT_KERNEL_EXTRA) $(ASMJIT_KERNEL_DEFS) $(ASMJIT_INCLUDE) -MMD -MP -c $< -o $@

$(HBUILD)/asmjit/%.o: $(ASMJIT_DIR)/src/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX(h) asmjit/$*"
	@$(CXX) -std=c++20 -O2 -g -fno-omit-frame-pointer -w $(ASMJIT_HOST_DEFS) $(ASMJIT_INCLUDE) -c $< -o $@

$(SBUILD)/asmjit/%.o: $(ASMJIT_DIR)/src/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX(s) asmjit/$*"
	@$(CXX) -std=c++20 -O1 -g -w $(SANITIZE_FLAGS) $(ASMJIT_HOST_DEFS) $(ASMJIT_INCLUDE) -c $< -o $@

$(HBUILD)/libasmjit.a: $(ASMJIT_HOST_OBJS)
	@rm -f $@ && ar rcs $@ $^
$(SBUILD)/libasmjit.a: $(ASMJIT_SAN_OBJS)
	@rm -f $@ && ar rcs $@ $^

# ---------------------------------------------------------------------------------------
# lwIP (fetched into build/ by scripts/fetch-lwip; only the serve kernel links it)
# ---------------------------------------------------------------------------------------
# C, compiled with the kernel's flags (NO_SYS=1, raw API: kernel_lib/net/lwip/lwipopts.h).
# The file list is fixed, so nothing is fetched until a serve kernel is built.
LWIP_DIR := $(BUILD)/lwip-src
LWIP_STAMP := $(LWIP_DIR)/.fetched
LWIP_FILES := core/init core/def core/inet_chksum core/ip core/mem core/memp core/netif core/pbuf \
	core/tcp core/tcp_in core/tcp_out core/timeouts core/udp core/ipv4/dhcp core/ipv4/etharp \
	core/ipv4/icmp core/ipv4/ip4 core/ipv4/ip4_addr netif/ethernet
LWIP_OBJS := $(LWIP_FILES:%=$(KBUILD)/lwip/%.o)
LWIP_INCLUDE := -I kernel_lib/net/lwip -isystem $(LWIP_DIR)/src/include
LWIP_CFLAGS := --target=x86_64-unknown-none-elf -march=x86-64 -std=c11 -Oz -ffreestanding -nostdlib \
	-nostdinc -static -mno-red-zone -fno-pic -fno-pie -mcmodel=small -fno-asynchronous-unwind-tables \
	-fomit-frame-pointer -ffunction-sections -fdata-sections -ffp-contract=off -fno-stack-protector \
	-isystem kernel_lib/libc/include -isystem $(CLANG_RESOURCE)/include \
	$(LWIP_INCLUDE) -w

$(LWIP_STAMP): scripts/fetch-lwip
	@scripts/fetch-lwip $(LWIP_DIR)
	@touch $@
$(LWIP_DIR)/src/%.c: | $(LWIP_STAMP)
	@:
# They come from the fetch, not from a rule: make must not delete them as intermediates.
.SECONDARY: $(LWIP_FILES:%=$(LWIP_DIR)/src/%.c)
$(KBUILD)/lwip/%.o: $(LWIP_DIR)/src/%.c kernel_lib/net/lwip/lwipopts.h kernel_lib/net/lwip/arch/cc.h
	@mkdir -p $(@D)
	@echo "  CC(k)  lwip/$*"
	@clang $(LWIP_CFLAGS) -c $< -o $@

# ---------------------------------------------------------------------------------------
# Kernel
# ---------------------------------------------------------------------------------------
# The kernel is built for size (-Oz), except the few files whose loops run per token over
# the model's vectors or per byte of a model: those are built for speed. (transformer.cpp
# and sampler.cpp only orchestrate or walk the vocabulary once per token: -Oz, 1.6 KB packed
# less, no measurable cost.) The JIT's generated kernels do the heavy
# lifting; this keeps the binary near its budget (make size).
# Of libm only exp.cpp (softmax's and SwiGLU's exponentials, per token and element) is hot:
# sincosf (RoPE, 32 pairs per layer and token: ~0.1 % of a token), sqrtf (one per RMS norm)
# and powf (the RoPE frequencies, at load) go -Oz, 21 bytes of kernel.bin.
KERNEL_HOT_CPP := tinyllama/attention.cpp kernel_lib/libm/exp.cpp
# -Oz code also goes without jump tables: compare chains pack tighter than tables of
# addresses (146 bytes of kernel.bin).
KERNEL_OPT := -Oz -fno-jump-tables
$(KERNEL_HOT_CPP:%.cpp=$(KBUILD)/obj/%.o): KERNEL_OPT := -O2
# Attention keeps its loops but not every helper inlined into each caller: 0.4 KB packed
# less, and the same speed (the host's attention at 300 positions, TinyLlama's heads,
# alternating runs: within 2 %). Loops unroll only where attention.cpp asks (its register
# blocks) and start unaligned: what the AVX2 paths needed to fit under 100 KiB (0.2 KB).
$(KBUILD)/obj/tinyllama/attention.o: KERNEL_OPT := -O2 -mllvm -inline-threshold=-100 -fno-unroll-loops -falign-loops=1
# The micro-JIT's generators emit code from trusted configs and fill no buffers from
# outside input; without stack canaries (one per function that builds asmjit operands,
# nearly all of them) they are several KiB smaller. The micro-JIT is also built with a
# lower inline threshold: its code is mostly calls into asmjit with operands built in
# place, and keeping the small helpers out of line is 1.6 KB packed less (measured: -25
# is the best of 0..-1000; the engine and kernel_lib come out bigger with it). It does not
# touch what the generators emit, and the reference kernels keep their loops as they were.
KERNEL_GEN_CPP := $(wildcard microjit/*.cpp)
$(KERNEL_GEN_CPP:%.cpp=$(KBUILD)/obj/%.o): KERNEL_OPT := -Oz -fno-jump-tables -fno-stack-protector -mllvm -inline-threshold=-25
# Kernel objects also depend on this file: their flags differ per object (above), and an
# edited flag must rebuild what it applies to, or `make size` measures the old build.
$(KBUILD)/obj/%.o: %.cpp Makefile | $(BUILD)/asmjit.mk
	@mkdir -p $(@D)
	@echo "  CXX(k) $<"
	@$(CXX) $(KERNEL_CXXFLAGS) $(KERNEL_OPT) $(ASMJIT_INCLUDE) $(ASMJIT_KERNEL_DEFS) $(KERNEL_EXTRA_INCLUDE) \
		-MMD -MP -c $< -o $@
# The network's glue includes lwIP's headers.
$(SERVE_OBJS): KERNEL_EXTRA_INCLUDE := $(LWIP_INCLUDE)
$(SERVE_OBJS): | $(LWIP_STAMP)

$(KBUILD)/obj/%.asm.o: %.asm
	@mkdir -p $(@D)
	@echo "  NASM   $<"
	@$(NASM) $(KERNEL_NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

# The framebuffer console's font, from Debian's console-setup package (scripts/make-font).
$(BUILD)/console_font.bin: scripts/make-font
	@mkdir -p $(@D)
	@echo "  FONT   $@"
	@scripts/make-font $@
$(KBUILD)/obj/kernel_lib/io/console_font.asm.o: $(BUILD)/console_font.bin

# A kernel build: NAME.elf (with symbols, map, listing), NAME.raw (the flat image, asmjit's
# instruction tables pruned: "asmjit's instruction tables" below), and NAME.syms (the
# symbol payload). $(1) = name, $(2) = objects, $(3) = pack-kernel options. kernel is what
# `make run` boots (the 128 KiB budget); kernel-serve adds the network ("Serve kernel" below)
# and kernel-dev the developer modes ("Developer kernel").
define kernel_build
$(BUILD)/$(1).elf: $(2) $$(ASMJIT_KERNEL_OBJS) kernel_lib/arch/x86_64/kernel.ld
	@echo "  LD     $$@"
	@$$(LD) $$(KERNEL_LDFLAGS) -Map=$(BUILD)/$(1).map -o $$@ $(2) \
		--start-group $$(ASMJIT_KERNEL_OBJS) --end-group
	@$$(NM) -n -C $$@ > $(BUILD)/$(1).sym
	@$$(OBJDUMP) -d -C --no-show-raw-insn $$@ > $(BUILD)/$(1).lst
$(BUILD)/$(1).raw: $(BUILD)/$(1).elf $(HBUILD)/prune-asmjit
	@$$(OBJCOPY) -O binary $$< $$@.flat
	@$(HBUILD)/prune-asmjit $$< $$@.flat $$@
	@rm $$@.flat
$(BUILD)/$(1).bin: $(BUILD)/unpack.bin $(BUILD)/unpack-body.bin $(BUILD)/$(1).raw $(HBUILD)/pack-kernel
	@echo "  PACK   $$@"
	@$(HBUILD)/pack-kernel $(3) $(BUILD)/unpack.bin $(BUILD)/unpack-body.bin $(BUILD)/$(1).raw $$@
# Symbol table payload for fault reports: sorted (address, name) pairs, see
# kernel_lib/debug/symbols.h for the format.
$(BUILD)/$(1).syms: $(BUILD)/$(1).elf scripts/make-symbols
	@scripts/make-symbols $$< $$@
endef
$(eval $(call kernel_build,kernel,$(KERNEL_OBJS)))

# Serve kernel: the same objects plus the network and the HTTP API (MODE=serve, make serve).
# Its own size is reported by `make size`; the 128 KiB budget is the default kernel's.
$(eval $(call kernel_build,kernel-serve,$(KERNEL_OBJS) $(SERVE_OBJS) $(LWIP_OBJS),--stage2-limit))
SERVE_PARTS := $(BUILD)/kernel-serve.bin $(BUILD)/kernel-serve.syms

# Developer kernel: the same objects plus MODE=bench, MODE=selftest and jit_dump=on; the
# default kernel has stubs in their place that name this one (kmain.kernel.cpp).
$(eval $(call kernel_build,kernel-dev,$(KERNEL_OBJS) $(DEV_OBJS),--stage2-limit))
DEV_PARTS := $(BUILD)/kernel-dev.bin $(BUILD)/kernel-dev.syms

# asmjit's instruction tables: the kernel images keep the entries of only the instructions
# the sources can emit (about 200 of 1663; the others cost 5.5 KB of the packed kernel).
# scripts/kernel-insts lists them from the sources; prune-asmjit zeroes every other entry
# in NAME.raw after the link (boot/tools/prune-asmjit.main.cpp, which also says why after
# the link); the micro-JIT turns a zeroed id into an error, never into missing code
# (mjit::Assembler, microjit/emitter.h); tests/host/microjit/kernel_insts_test.cpp checks
# every candidate kernel's instructions against the list.
KERNEL_INSTS := $(BUILD)/gen/kernel_insts.inc
$(KERNEL_INSTS): scripts/kernel-insts $(shell find $(SRC_DIRS) -name '*.cpp' -o -name '*.h') | $(BUILD)/asmjit.mk
	@scripts/kernel-insts $(ASMJIT_DIR)/src/asmjit/x86 $@ $(SRC_DIRS)
# The encoder keeps only the cases of the encodings those instructions use
# (scripts/asmjit-kernel-cases): 2.9 KB of the packed kernel less.
$(ASMJIT_DIR)/src/$(ASMJIT_KERNEL_ASSEMBLER): $(HBUILD)/prune-asmjit scripts/asmjit-kernel-cases | $(BUILD)/asmjit.mk
	@mkdir -p $(@D)
	@scripts/asmjit-kernel-cases $(ASMJIT_DIR)/src/asmjit/x86 $@ $$($(HBUILD)/prune-asmjit --kept-encodings)
KERNEL_INSTS_USERS := $(HBUILD)/obj/boot/tools/prune-asmjit.main.o $(HBUILD)/obj/tests/host/microjit/kernel_insts_test.o \
	$(SBUILD)/obj/tests/host/microjit/kernel_insts_test.o
$(KERNEL_INSTS_USERS): $(KERNEL_INSTS)
$(KERNEL_INSTS_USERS): HOST_CXXFLAGS += -I$(BUILD)/gen

# Compile every kernel object without linking (checks freestanding builds of shared code).
.PHONY: kernel-objs
kernel-objs: $(KERNEL_OBJS) $(DEV_OBJS) $(ASMJIT_KERNEL_OBJS)

# kernel.bin is the unpacker stub plus the kernel image, x86-branch-filtered and packed by the
# context-mixing codec (kernel_lib/codec/cm.h, boot/tools/pack-kernel.main.cpp)
# (boot/unpack/): the image stage2 loads stays small; the stub restores the kernel at 1 MiB
# before it runs.
UNPACK_CXXFLAGS := --target=x86_64-unknown-none-elf -march=x86-64 -std=c++20 -Oz -ffreestanding \
	-fno-exceptions -fno-rtti -nostdlib -nostdinc -nostdinc++ -mno-red-zone -fno-pic -fno-pie \
	-mgeneral-regs-only -fno-stack-protector -fno-builtin -ffunction-sections -fdata-sections \
	-isystem kernel_lib/libc/include \
	-isystem $(CLANG_RESOURCE)/include -I. $(WARNINGS)
UNPACK_OBJS := $(BUILD)/unpack/unpack.o $(BUILD)/unpack/pvm.o $(BUILD)/unpack/cm.o \
	$(BUILD)/unpack/x86_filter.o $(BUILD)/unpack/unpack_entry.o $(BUILD)/unpack/lz_decode.o

$(BUILD)/unpack/unpack.o: boot/unpack/unpack.asm $(BOOT_INC)
	@mkdir -p $(@D)
	@echo "  NASM   $<"
	@$(NASM) $(KERNEL_NASMFLAGS) $< -o $@
$(BUILD)/unpack/pvm.o: kernel_lib/arch/x86_64/pvm.asm $(BOOT_INC)
	@mkdir -p $(@D)
	@$(NASM) $(KERNEL_NASMFLAGS) $< -o $@
$(BUILD)/unpack/lz_decode.o: kernel_lib/codec/lz_decode.asm
	@mkdir -p $(@D)
	@$(NASM) $(KERNEL_NASMFLAGS) $< -o $@
# The decoder runs for every bit of the kernel, under QEMU's emulation in every boot test:
# -Os decodes about 10 % faster than -Oz for 16 bytes more stub (-O2: 30 %, for 1 KB).
$(BUILD)/unpack/cm.o: UNPACK_CXXFLAGS += -Os
$(BUILD)/unpack/%.o: kernel_lib/codec/%.cpp kernel_lib/codec/%.h
	@mkdir -p $(@D)
	@echo "  CXX(u) $<"
	@$(CXX) $(UNPACK_CXXFLAGS) -c $< -o $@
$(BUILD)/unpack/unpack_entry.o: boot/unpack/unpack_entry.cpp kernel_lib/codec/cm.h kernel_lib/codec/x86_filter.h \
		kernel_lib/boot/bootinfo.h
	@mkdir -p $(@D)
	@$(CXX) $(UNPACK_CXXFLAGS) -c $< -o $@
# Two parts: unpack.bin, the entry (stored as it is), and unpack-body.bin, the rest, which
# pack-kernel stores LZ-compressed and the entry restores (boot/unpack/unpack.ld).
$(BUILD)/unpack.bin: $(UNPACK_OBJS) boot/unpack/unpack.ld
	@$(LD) -nostdlib -static --gc-sections -T boot/unpack/unpack.ld -o $(BUILD)/unpack.elf $(UNPACK_OBJS)
	@$(OBJCOPY) -O binary -j .entry $(BUILD)/unpack.elf $@
	@$(OBJCOPY) -O binary -j .text -j .rodata -j .data $(BUILD)/unpack.elf $(BUILD)/unpack-body.bin
$(BUILD)/unpack-body.bin: $(BUILD)/unpack.bin ;


# ---------------------------------------------------------------------------------------
# Boot stages and the disk image
# ---------------------------------------------------------------------------------------
BOOT_INC := $(wildcard boot/inc/*.inc)

$(BUILD)/stage1.bin: boot/stage1.asm $(BOOT_INC)
	@mkdir -p $(BUILD)
	@echo "  NASM   $<"
	@$(NASM) -f bin -w+all -I boot/inc/ -l $(BUILD)/stage1.lst $< -o $@

$(BUILD)/stage2.bin: boot/stage2.asm $(wildcard boot/stage2/*.asm) $(BOOT_INC)
	@mkdir -p $(BUILD)
	@echo "  NASM   $<"
	@$(NASM) -f bin -w+all -I boot/inc/ -I boot/stage2/ -l $(BUILD)/stage2.lst $< -o $@

# The UEFI loader (boot/uefi/README.md): a PE32+ EFI application built by clang for the
# Windows x86-64 target (the Microsoft calling convention UEFI uses) and linked by lld-link.
# boot/uefi/*.efi.cpp call the firmware; the other boot/uefi/*.cpp are shared with the host
# tests; the kernel_lib files are the kernel's own checks, CRC, formatter and COM1 driver.
UBUILD := $(BUILD)/uefi
UEFI_CXXFLAGS := --target=x86_64-unknown-windows -march=x86-64 -std=c++20 -Oz -ffreestanding -fno-exceptions \
	-fno-rtti -nostdlib -nostdinc -mno-red-zone -mno-stack-arg-probe -fno-stack-protector \
	-fno-threadsafe-statics -ffunction-sections -fdata-sections -ffp-contract=off \
	-isystem kernel_lib/libcxx/include -isystem kernel_lib/libc/include -isystem $(CLANG_RESOURCE)/include -I. \
	-DBAREFLOW_UEFI=1 $(WARNINGS)
UEFI_CPP := $(sort $(wildcard boot/uefi/*.cpp)) kernel_lib/base/error.cpp kernel_lib/boot/directory.cpp \
	kernel_lib/boot/payloads.cpp kernel_lib/codec/crc32c.cpp kernel_lib/cpu/features.cpp \
	kernel_lib/io/serial.kernel.cpp kernel_lib/libc/format.cpp kernel_lib/libc/format_float.cpp \
	kernel_lib/libc/bignum.cpp kernel_lib/libc/string.cpp kernel_lib/libc/string.kernel.cpp kernel_lib/text/json.cpp
UEFI_OBJS := $(UEFI_CPP:%.cpp=$(UBUILD)/obj/%.o) $(UBUILD)/obj/boot/uefi/handover.asm.o

$(UBUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	@echo "  CXX(e) $<"
	@$(CXX) $(UEFI_CXXFLAGS) -MMD -MP -c $< -o $@

$(UBUILD)/obj/%.asm.o: %.asm $(BOOT_INC)
	@mkdir -p $(@D)
	@echo "  NASM   $<"
	@$(NASM) -f win64 -w+all -I boot/inc/ $< -o $@

$(BUILD)/BOOTX64.EFI: $(UEFI_OBJS)
	@echo "  LINK   $@"
	@lld-link /nologo /subsystem:efi_application /entry:efi_main /nodefaultlib /opt:ref /map:$(UBUILD)/loader.map \
		/out:$@ $(UEFI_OBJS)

# The EFI system partition: FAT12 (UEFI reads FAT12/16 on removable media; FAT32 would need
# at least 33 MiB), made by Debian's dosfstools and mtools. A fixed volume ID keeps it
# reproducible; mkimage appends it to every image as the second partition.
ESP_KIB := 1024
MKFS_FAT := $(or $(shell command -v mkfs.fat 2>/dev/null),/usr/sbin/mkfs.fat)
$(BUILD)/esp.img: $(BUILD)/BOOTX64.EFI
	@echo "  ESP    $@"
	@rm -f $@.tmp
	@$(MKFS_FAT) -C -F 12 -n BAREFLOW -i 42464c57 $@.tmp $(ESP_KIB) > /dev/null
	@mmd -i $@.tmp ::/EFI ::/EFI/BOOT
	@mcopy -i $@.tmp $< ::/EFI/BOOT/BOOTX64.EFI
	@mv $@.tmp $@

# Image settings: passed to mkimage only when given, so its defaults apply otherwise.
IMAGE_OPTS := $(if $(MODEL),--model "$(MODEL)") $(if $(TOKENIZER),--tokenizer "$(TOKENIZER)") \
	$(if $(PROMPT),--prompt "$(PROMPT)") $(if $(STEPS),--steps $(STEPS)) \
	$(if $(TEMP),--temp $(TEMP)) $(if $(TOPP),--topp $(TOPP)) $(if $(SEED),--seed $(SEED)) \
	$(if $(MODE),--mode $(MODE)) $(if $(JIT),--jit $(JIT)) $(if $(PROFILE),--profile "$(PROFILE)") \
	$(EXTRA_IMAGE_OPTS)
BOOT_PARTS := $(BUILD)/stage1.bin $(BUILD)/stage2.bin $(BUILD)/kernel.bin $(BUILD)/kernel.syms \
	$(BUILD)/esp.img $(HBUILD)/mkimage

# MODE=serve boots the serve kernel, MODE=bench and selftest the developer kernel (mkimage
# picks them), so those are built too.
IMAGE_PARTS = $(BOOT_PARTS) $(if $(filter serve,$(MODE)),$(SERVE_PARTS)) $(if $(filter bench selftest,$(MODE)),$(DEV_PARTS))

.PHONY: image
image: $(IMAGE_PARTS)
	@scripts/get-model --ensure "$(or $(MODEL),stories260K.bin)" $(if $(TOKENIZER),"$(TOKENIZER)")
	@scripts/mkimage -o $(BUILD)/bareflow.img $(IMAGE_OPTS)

# ---------------------------------------------------------------------------------------
# Host library, tools and tests
# ---------------------------------------------------------------------------------------
$(HBUILD)/obj/%.o: %.cpp | $(BUILD)/asmjit.mk
	@mkdir -p $(@D)
	@echo "  CXX(h) $<"
	@$(CXX) $(HOST_CXXFLAGS) $(ASMJIT_INCLUDE) $(ASMJIT_HOST_DEFS) -MMD -MP -c $< -o $@

$(HBUILD)/obj/%.native.o: %.native.cpp | $(BUILD)/asmjit.mk
	@mkdir -p $(@D)
	@echo "  CXX(n) $<"
	@$(CXX) $(HOST_CXXFLAGS) -O3 -march=native $(ASMJIT_INCLUDE) $(ASMJIT_HOST_DEFS) -MMD -MP -c $< -o $@

$(SBUILD)/obj/%.o: %.cpp | $(BUILD)/asmjit.mk
	@mkdir -p $(@D)
	@echo "  CXX(s) $<"
	@$(CXX) $(HOST_CXXFLAGS) -O1 $(SANITIZE_FLAGS) $(ASMJIT_INCLUDE) $(ASMJIT_HOST_DEFS) -MMD -MP -c $< -o $@

# HOST_ASM for the host, sanitized and fuzz builds alike (one object each).
define host_asm_rule
$(1)/obj/%.asm.o: %.asm
	@mkdir -p $$(@D)
	@echo "  NASM   $$<"
	@$$(NASM) $$(KERNEL_NASMFLAGS) $$< -o $$@
endef
$(foreach build,$(HBUILD) $(SBUILD) $(BUILD)/fuzz,$(eval $(call host_asm_rule,$(build))))

$(HBUILD)/libbareflow.a: $(HOST_LIB_OBJS)
	@rm -f $@ && ar rcs $@ $^
$(SBUILD)/libbareflow.a: $(SAN_LIB_OBJS)
	@rm -f $@ && ar rcs $@ $^

define host_program
$(HBUILD)/$(notdir $(1:.main.cpp=)): $(HBUILD)/obj/$(1:.cpp=.o) $(HBUILD)/libbareflow.a $(HBUILD)/libasmjit.a
	@echo "  LINK   $$@"
	@$(CXX) -o $$@ $$^ -lm
endef
$(foreach m,$(HOST_MAIN_CPP),$(eval $(call host_program,$(m))))

$(HBUILD)/bareflow-tests: $(TEST_OBJS) $(HBUILD)/libbareflow.a $(HBUILD)/libasmjit.a
	@echo "  LINK   $@"
	@$(CXX) -o $@ $^ -lm

$(SBUILD)/bareflow-tests: $(SAN_TEST_OBJS) $(SBUILD)/libbareflow.a $(SBUILD)/libasmjit.a
	@echo "  LINK   $@"
	@$(CXX) $(SANITIZE_FLAGS) -o $@ $^ -lm

# The host tool itself under ASan + UBSan: a whole run, start to exit (test-sanitize).
$(SBUILD)/bareflow-host: $(SBUILD)/obj/tinyllama/host/bareflow-host.main.o $(SBUILD)/libbareflow.a $(SBUILD)/libasmjit.a
	@echo "  LINK   $@"
	@$(CXX) $(SANITIZE_FLAGS) -o $@ $^ -lm

.PHONY: host
host: $(HOST_PROGRAMS) $(HBUILD)/bareflow-tests

# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------
# Environment knobs: BAREFLOW_TEST_ACCELS="kvm tcg" limits the QEMU accelerators.
.PHONY: test test-build test-host test-sanitize test-qemu
# The QEMU tests boot stories260K (+ tok512.bin, its int8 twin) and the 32000-token tokenizer:
# with them missing, `make test` stops at once with where to get them, not 30 failures later.
# stories260K-q8.bin has no public download: it ships with ../shared/models.
TEST_Q8_MODEL = $(firstword $(wildcard $(addsuffix /stories260K-q8.bin,models $(subst :, ,$(BAREFLOW_MODEL_PATH)))))
define TEST_MODELS_ENSURE
@scripts/get-model --ensure stories260K.bin tokenizer.bin
@$(if $(TEST_Q8_MODEL),true,echo "make test: stories260K-q8.bin (stories260K in the int8 format) is not in ./models or \
BAREFLOW_MODEL_PATH; it ships beside the other models in ../shared/models: export \
BAREFLOW_MODEL_PATH=/path/to/shared/models" >&2; exit 3)
endef
# The plain and the sanitized host tests run side by side (one core each: 190 s instead of
# 300 on 2 cores), each one's output printed whole when it ends; then the QEMU tests.
test: test-build
	$(TEST_MODELS_ENSURE)
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-host test-sanitize
	@$(MAKE) --no-print-directory test-qemu
	@echo "make test: all tests passed"

# Everything the tests need, so `make -jN test` builds in parallel and then tests in order.
test-build: $(HBUILD)/bareflow-tests $(SBUILD)/bareflow-tests $(SBUILD)/bareflow-host $(BOOT_PARTS) $(SERVE_PARTS) $(DEV_PARTS) \
	$(HOST_PROGRAMS)

test-host: $(HBUILD)/bareflow-tests
	@echo "== host tests (Catch2)"
	@$(HBUILD)/bareflow-tests --order lex

test-sanitize: $(SBUILD)/bareflow-tests $(SBUILD)/bareflow-host
	@echo "== host tests under ASan + UBSan"
	@ASAN_OPTIONS=detect_leaks=1 $(SBUILD)/bareflow-tests --order lex $(SANITIZE_TEST_FILTER)
	@echo "== bareflow-host under ASan + UBSan (stack use after return detected), a reference story to the exit"
	@tests/host/sanitized-host-run $(SBUILD)/bareflow-host

test-qemu: $(BOOT_PARTS) $(SERVE_PARTS) $(DEV_PARTS) $(HOST_PROGRAMS)
	$(TEST_MODELS_ENSURE)
	@echo "== QEMU boot tests (SeaBIOS, and OVMF for the uefi-* cases)"
	@tests/qemu/run-tests
	@echo "== QEMU console test"
	@tests/qemu/console_test.py
	@echo "== QEMU console test under UEFI (OVMF) and the framebuffer screen"
	@tests/qemu/console_test.py --firmware uefi --accel tcg
	@tests/qemu/screen_test.py
	@echo "== QEMU chat tests (MODE=chat against the host tool, the console's chat mode)"
	@tests/qemu/chat_test.py
	@echo "== QEMU serve tests (the OpenAI-compatible API over the network)"
	@tests/qemu/serve_test.py

# ---------------------------------------------------------------------------------------
# Running, debugging, sizes
# ---------------------------------------------------------------------------------------
RUN_OPTS := $(if $(SMP),--smp $(SMP)) $(if $(MEM),--mem $(MEM)) $(if $(FIRMWARE),--firmware $(FIRMWARE))
# make serve: the card (NET=virtio|e1000|e1000e|none) on QEMU's user network, host port PORT
# forwarded to the guest's API port (the same number).
NET ?= virtio
PORT ?= 8080
SERVE_RUN_OPTS = --net $(NET) $(if $(filter-out none,$(NET)),--forward $(PORT):$(PORT))

.PHONY: run debug size bench bench-host serve
# `make run` with no PROMPT still tells a story first (then the console follows), so that
# the first boot shows the engine at work; MODE=generate etc. keep their own prompt.
RUN_PROMPT := $(if $(PROMPT)$(filter-out interactive,$(MODE)),,--prompt "Once upon a time")
run: $(IMAGE_PARTS)
	@scripts/get-model --ensure "$(or $(MODEL),stories260K.bin)" $(if $(TOKENIZER),"$(TOKENIZER)")
	@scripts/mkimage -o $(BUILD)/bareflow.img $(IMAGE_OPTS) $(RUN_PROMPT) $(if $(filter serve,$(MODE)),--set port=$(PORT))
	@scripts/run-qemu --interactive $(RUN_OPTS) $(if $(filter serve,$(MODE)),$(SERVE_RUN_OPTS)) $(BUILD)/bareflow.img

# The OpenAI-compatible API of the serve kernel, reachable from this machine.
serve: $(BOOT_PARTS) $(SERVE_PARTS)
	@scripts/get-model --ensure "$(or $(MODEL),stories260K.bin)" $(if $(TOKENIZER),"$(TOKENIZER)")
	@scripts/mkimage -q -o $(BUILD)/bareflow-serve.img $(IMAGE_OPTS) --mode serve --set port=$(PORT)
	@echo "make serve: the API will be at http://127.0.0.1:$(PORT)/v1 once the guest prints @serve" \
		"(NET=$(NET); q or Ctrl-C in the guest's console stops it, Ctrl-A X leaves QEMU)"
	@scripts/run-qemu --interactive $(RUN_OPTS) $(SERVE_RUN_OPTS) $(BUILD)/bareflow-serve.img

debug: image
	@scripts/debug-qemu $(RUN_OPTS) $(BUILD)/bareflow.img

size: $(BUILD)/stage1.bin $(BUILD)/stage2.bin $(BUILD)/kernel.elf $(BUILD)/unpack.bin $(BUILD)/kernel.raw \
	$(BUILD)/esp.img $(BUILD)/kernel-serve.bin $(BUILD)/kernel-dev.bin
	@scripts/size-report $(BUILD)

bench:
	@scripts/bench $(BENCH_ARGS)

# The same workloads through the host tool, on one pinned core (where KVM is missing).
bench-host:
	@scripts/bench-host $(BENCH_ARGS)

# Writing the image to a USB stick (scripts/usb-write refuses anything that does not look
# like a removable, unmounted disk; DRY_RUN=1 shows what it would do).
.PHONY: usb dump-jit
usb: image
	@FORCE=$(FORCE) scripts/usb-write $(if $(DRY_RUN),--dry-run) $(BUILD)/bareflow.img "$(DEV)"

# Every kernel the JIT installs, cut out of the serial log and disassembled.
dump-jit: $(BOOT_PARTS) $(DEV_PARTS)
	@mkdir -p $(BUILD)/jit-dump
	@scripts/mkimage -q -o $(BUILD)/jit-dump/dump.img $(IMAGE_OPTS) --mode generate --set jit_dump=on
	@scripts/run-qemu $(RUN_OPTS) --log $(BUILD)/jit-dump/serial.log $(BUILD)/jit-dump/dump.img > /dev/null
	@scripts/dump-jit $(BUILD)/jit-dump/serial.log $(BUILD)/jit-dump

.PHONY: clean help
clean:
	rm -rf $(BUILD)

help:
	@echo "BareFlow make targets:"
	@echo "  make / make image   build build/bareflow.img"
	@echo "  make run            boot it in QEMU: a story (PROMPT, default \"Once upon a time\"), then the console"
	@echo "  make test           host tests, sanitizer tests, QEMU boot tests"
	@echo "  make bench          benchmarks of the kernel under KVM -> build/bench/results.md"
	@echo "  make bench-host     the same workloads through the host tool -> build/bench/host-results.md"
	@echo "  make size           byte sizes of stage1, stage2, the UEFI loader, kernel and its parts"
	@echo "  make debug          QEMU paused under gdb with kernel symbols"
	@echo "  make host           host tools in build/host/"
	@echo "  make usb DEV=/dev/sdX   write the image to a USB stick (DRY_RUN=1 to preview)"
	@echo "  make dump-jit       disassemble every kernel the JIT installs -> build/jit-dump/"
	@echo "  make serve          the OpenAI-compatible API in QEMU: http://127.0.0.1:PORT/v1 (NET=, PORT=)"
	@echo "Variables: MODEL TOKENIZER PROMPT STEPS TEMP TOPP SEED MODE JIT SMP MEM PROFILE FIRMWARE=bios|uefi NET PORT"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# =======================================================================================
# Fuzzing (tests/fuzz/README.md) -- one section, kept at the end of this file.
#   make fuzz         builds every libFuzzer target into build/fuzz/<target> and runs each
#                     for FUZZ_SECONDS (default 60), then prints executions, exec/s and
#                     coverage (cov, ft) per target; fails when any target crashes
#   make fuzz-smoke   the same, 10 s per target
# Not part of `make test` (time budget): there the [fuzz] Catch2 test replays the kept
# inputs in tests/fuzz/regressions/ through the same target bodies (tests/fuzz/targets/).
# The code under test is compiled here directly, with ASan + UBSan + fuzzer coverage.
# =======================================================================================
FUZZ_SECONDS ?= 60
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard tests/fuzz/entry/*.cpp))))
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
FUZZ_LIB_CPP := tinyllama/model.cpp tinyllama/tokenizer.cpp tinyllama/encode.cpp tinyllama/kernel_app/boot_settings.cpp \
	kernel_lib/text/keyvalue.cpp kernel_lib/codec/crc32c.cpp kernel_lib/boot/directory.cpp kernel_lib/base/error.cpp \
	kernel_lib/codec/cm.cpp kernel_lib/codec/x86_filter.cpp kernel_lib/codec/lz.host.cpp boot/uefi/memory_map.cpp boot/uefi/disk_layout.cpp \
	$(wildcard tinyllama/gguf/*.cpp) tinyllama/chat/template.cpp microjit/formats.cpp microjit/blocks.cpp microjit/reference_blocks.cpp \
	microjit/quantize_blocks.cpp microjit/quantize_weights.host.cpp microjit/reference.cpp kernel_lib/libm/math.cpp \
	kernel_lib/net/http.cpp kernel_lib/text/json.cpp kernel_lib/text/json_reader.cpp kernel_lib/text/json_writer.cpp \
	kernel_lib/text/text_buffer.cpp kernel_lib/text/string_view.cpp kernel_lib/text/utf8.cpp \
	kernel_lib/libc/format.cpp kernel_lib/libc/format_float.cpp kernel_lib/libc/string.cpp \
	$(filter-out %.kernel.cpp,$(wildcard tinyllama/serve/*.cpp)) tests/host/tinyllama/serve_fakes.cpp \
	kernel_lib/libc/strtod.cpp kernel_lib/libc/strtol.cpp kernel_lib/libc/bignum.cpp \
	kernel_lib/cpu/features.cpp kernel_lib/mem/alloc.host.cpp kernel_lib/debug/panic.host.cpp \
	$(wildcard tests/fuzz/targets/*.cpp)
FUZZ_LIB_OBJS := $(FUZZ_LIB_CPP:%.cpp=$(FUZZ_BUILD)/obj/%.o) $(HOST_ASM:%.asm=$(FUZZ_BUILD)/obj/%.asm.o)
FUZZ_CXXFLAGS := $(HOST_CXXFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all

$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	@echo "  CXX(f) $<"
	@$(CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/entry/%.o $(FUZZ_LIB_OBJS)
	@echo "  LINK   $@"
	@$(CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -o $@ $^ -lm

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@tests/fuzz/run-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@tests/fuzz/run-fuzz 10 $(FUZZ_TARGETS)
