// Timing and reporting helpers of jit-bench (host only).
//
// The host is small and noisy (2 vCPUs shared with others), so every figure is the median
// of repeated samples, and each sample runs the kernel long enough (min_sample_ms) for the
// clock to be precise.
#pragma once

#include <functional>
#include <stdint.h>
#include <string>
#include <vector>

namespace mjit::bench {

struct TimingOptions {
    int samples = 11;
    double min_sample_ms = 2.0;
};

// Median nanoseconds per call of `fn`.
double time_per_call_ns(const std::function<void()>& fn, const TimingOptions& options);

// The same for several contestants at once, sampled round-robin (one sample of each per
// round) so that a burst of noise from other processes hits them all alike and the ratios
// stay meaningful. Returns the median ns per call of each, in order.
std::vector<double> time_interleaved(const std::vector<std::function<void()>>& fns, const TimingOptions& options);

// A 64-byte aligned, zero-filled buffer owned by the bench.
class Buffer {
public:
    explicit Buffer(size_t bytes);
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    template<typename T>
    T* as() { return reinterpret_cast<T*>(m_data); }
    size_t size() const { return m_size; }

private:
    void* m_data;
    size_t m_size;
};

// One line of the report.
struct Row {
    std::string group;     // "matvec_f32", "matvec_q8", "quantize_q8", "copy", "stream"
    std::string shape;     // "n288_d768"
    uint64_t bytes = 0;    // bytes one call moves (weights + scales + x + out)
    double flops = 0;      // per call
    double ref_ns = 0, native_ns = 0, native_fast_ns = 0, jit_ns = 0, jit_default_ns = 0;
    std::string jit_name;  // the winning config
    bool beyond_l2 = false;
    double stream_gbs = 0;   // streaming read of this shape's weights (same buffer), GB/s: best of 1/2/4 streams
    double stream1_gbs = 0;  // ... with one stream
};

void print_table(const std::vector<Row>& rows, double stream_gbs, const std::string& cpu, const std::string& isa);
void print_json(const std::vector<Row>& rows, double stream_gbs, const std::string& cpu, const std::string& isa);

}
