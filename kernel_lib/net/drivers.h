// The network card drivers, as nic.kernel.cpp's table starts them (kernel only).
#pragma once

#include "kernel_lib/net/nic.h"
#include "kernel_lib/net/pci.h"

namespace kl::net {

// Each starts the card at `device` and returns it, or a NetDevice error naming the step
// that failed. `model` is the table's name for the device ID.
ErrorOr<Nic*> start_virtio_net(pci::ConfigSpace& config, const pci::Device& device, const char* model);
ErrorOr<Nic*> start_e1000(pci::ConfigSpace& config, const pci::Device& device, const char* model);

// Busy-waits until `done()` or `timeout_ms` passes; false on timeout (device bring-up).
bool wait_until(bool (*done)(void* context), void* context, u32 timeout_ms);

// DMA memory: zeroed, aligned, below the identity map's end (its address is physical).
ErrorOr<u8*> dma_allocate(usize bytes, usize alignment, const char* what);

}
