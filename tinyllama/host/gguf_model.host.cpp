// llama GGUF files with random or converted weights (see gguf_model.h).
#include "tinyllama/host/gguf_model.h"

#include <stdio.h>
#include <string.h>

#include <thread>

#include "kernel_lib/base/unaligned.h"
#include "kernel_lib/libm/math.h"
#include "tinyllama/tokenizer.h"

namespace tllama::tools {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;
using mjit::Format;

namespace {

constexpr GgufType gguf_types[] = {
    { "f32", Format::F32, false }, { "f16", Format::F16, false }, { "bf16", Format::BF16, false },
    { "q8_0", Format::Q8_0, false }, { "q4_0", Format::Q4_0, false }, { "q4_1", Format::Q4_1, false },
    { "q5_0", Format::Q5_0, false }, { "q5_1", Format::Q5_1, false }, { "q2_k", Format::Q2_K, false },
    { "q3_k", Format::Q3_K, false }, { "q4_k", Format::Q4_K, false }, { "q5_k", Format::Q5_K, false },
    { "q6_k", Format::Q6_K, false }, { "q4_k_m", Format::Q4_K, true },
};

// The templates as their models' tokenizer_config.json holds them (Jinja source).
constexpr const char* tinyllama_template =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
constexpr const char* chatml_template =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
constexpr const char* llama2_template =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

// A tensor of the model: where its values come from and how it is stored.
struct TensorPlan {
    std::string name;
    const char* role;
    i32 layer;     // -1 outside the blocks
    u32 rows;      // 0: a norm vector
    u32 cols;
    Format format;
};

bool fits(Format format, u32 cols)
{
    const u32 block = mjit::format_info(format).block_values;
    return block <= 1 || cols % block == 0;
}

// A format whose blocks cut rows of `cols` values: the wanted one, or llama.cpp's fallback
// for it (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0; Q2_K and Q3_K -> Q4_0, where llama.cpp
// takes IQ4_NL, which BareFlow does not read), or F16 when that does not fit either.
Format fitting_format(Format wanted, u32 cols)
{
    if (fits(wanted, cols))
        return wanted;
    Format fallback = Format::F16;
    switch (wanted) {
    case Format::Q2_K: case Format::Q3_K: fallback = Format::Q4_0; break;
    case Format::Q4_K: fallback = Format::Q5_0; break;
    case Format::Q5_K: fallback = Format::Q5_1; break;
    case Format::Q6_K: fallback = Format::Q8_0; break;
    default: break;
    }
    return fits(fallback, cols) ? fallback : Format::F16;
}

std::vector<TensorPlan> tensor_plans(const GgufModelSpec& spec)
{
    const Config& c = spec.config;
    const u32 dim = c.dim, kv = c.kv_dim(), hidden = c.hidden_dim, vocab = c.vocab_size;
    std::vector<TensorPlan> plans;
    auto add = [&](const std::string& name, const char* role, i32 layer, u32 rows, u32 cols) {
        plans.push_back({ name, role, layer, rows, cols, rows ? fitting_format(format_for(spec, role, layer), cols) : Format::F32 });
    };
    add("token_embd.weight", "token_embd", -1, vocab, dim);
    add("output_norm.weight", "output_norm", -1, 0, dim);
    if (!spec.tied_classifier)
        add("output.weight", "output", -1, vocab, dim);
    struct Part {
        const char* role;
        u32 rows, cols;
    };
    const Part parts[] = { { "attn_norm", 0, dim }, { "attn_q", dim, dim }, { "attn_k", kv, dim }, { "attn_v", kv, dim },
        { "attn_output", dim, dim }, { "ffn_norm", 0, dim }, { "ffn_gate", hidden, dim }, { "ffn_up", hidden, dim },
        { "ffn_down", dim, hidden } };
    for (i32 l = 0; l < c.n_layers; ++l)
        for (const Part& p : parts)
            add("blk." + std::to_string(l) + "." + p.role + ".weight", p.role, l, p.rows, p.cols);
    return plans;
}

u64 splitmix(u64& state)
{
    u64 z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

u64 name_hash(const std::string& name)
{
    u64 h = 0xcbf29ce484222325ull;  // FNV-1a
    for (char ch : name)
        h = (h ^ static_cast<u8>(ch)) * 0x100000001b3ull;
    return h;
}

// Row `row` of a random tensor: its own stream, so rows can be made in any order.
void random_row(const GgufModelSpec& spec, const TensorPlan& t, u32 row, float* out)
{
    u64 state = spec.seed ^ name_hash(t.name) ^ (static_cast<u64>(row) * 0xd1b54a32d192ed03ull);
    const u32 n = t.cols;
    const float center = t.rows ? 0.0f : 1.0f;
    const float amplitude = t.rows ? 1.0f / kl::sqrtf(static_cast<float>(n)) : 0.1f;
    const float step = amplitude / 2147483648.0f;
    for (u32 j = 0; j < n; ++j)
        out[j] = center + static_cast<float>(static_cast<i32>(splitmix(state) >> 32)) * step;
}

// The checkpoint's view of a tensor role in a layer (-1 outside the blocks).
const WeightView& source_view(const Checkpoint& cp, const char* role, i32 layer)
{
    const TransformerWeights& w = cp.weights;
    if (strcmp(role, "token_embd") == 0)
        return w.token_embedding;
    if (strcmp(role, "output") == 0)
        return w.wcls;
    if (strcmp(role, "output_norm") == 0)
        return w.output_norm;
    const LayerWeights& L = w.layers[layer];
    const struct {
        const char* role;
        const WeightView* view;
    } roles[] = { { "attn_norm", &L.attn_norm }, { "ffn_norm", &L.ffn_norm }, { "attn_q", &L.wq }, { "attn_k", &L.wk },
        { "attn_v", &L.wv }, { "attn_output", &L.wo }, { "ffn_gate", &L.w1 }, { "ffn_down", &L.w2 }, { "ffn_up", &L.w3 } };
    for (const auto& r : roles)
        if (strcmp(r.role, role) == 0)
            return *r.view;
    VERIFY(!"a tensor role the checkpoint has");
    return w.wcls;
}

// Row `row` of a tensor taken from a llama2.c checkpoint (fp32, or Q8 dequantised).
void source_row(const Checkpoint& cp, const TensorPlan& t, u32 row, float* out)
{
    const WeightView& v = source_view(cp, t.role, t.layer);
    const u64 first = static_cast<u64>(row) * v.cols;
    for (u32 j = 0; j < v.cols; ++j) {
        if (v.format == mjit::Format::F32)
            out[j] = v.f32()[first + j];
        else
            out[j] = static_cast<float>(static_cast<const i8*>(v.data)[first + j]) * v.scales[(first + j) / cp.weights.group_size];
    }
}

// Makes and quantises rows [begin, end) of a tensor into `out`.
void encode_rows(const GgufModelSpec& spec, const TensorPlan& t, u32 begin, u32 end, u8* out)
{
    const mjit::FormatInfo& f = mjit::format_info(t.format);
    const u64 row_bytes = mjit::row_bytes(t.format, t.cols).value();
    std::vector<float> values(t.cols);
    for (u32 r = begin; r < end; ++r) {
        if (spec.source)
            source_row(*spec.source, t, r, values.data());
        else
            random_row(spec, t, r, values.data());
        f.quantize_row(values.data(), out + static_cast<u64>(r - begin) * row_bytes, t.cols);
    }
}

// Writes a tensor in batches of rows, each batch quantised on every core.
ErrorOr<void> write_tensor(const GgufModelSpec& spec, const TensorPlan& t, ChunkWriter& out)
{
    const u32 rows = t.rows ? t.rows : 1;
    const u64 row_bytes = mjit::row_bytes(t.format, t.cols).value();
    const u32 batch = static_cast<u32>(kl::max<u64>(1, (8 * kl::MiB) / row_bytes));
    const u32 threads = kl::max(1u, kl::min(std::thread::hardware_concurrency(), 16u));
    std::vector<u8> buffer(static_cast<size_t>(kl::min(batch, rows)) * row_bytes);
    for (u32 first = 0; first < rows; first += batch) {
        const u32 count = kl::min(batch, rows - first);
        std::vector<std::thread> workers;
        const u32 per = (count + threads - 1) / threads;
        for (u32 k = 0; k < threads && k * per < count; ++k) {
            const u32 b = first + k * per, e = first + kl::min(count, (k + 1) * per);
            workers.emplace_back(encode_rows, std::cref(spec), std::cref(t), b, e, buffer.data() + (b - first) * row_bytes);
        }
        for (std::thread& w : workers)
            w.join();
        TRY(out.write(out.context, buffer.data(), count * row_bytes));
    }
    return {};
}

const char* c_string_piece(const u8* bytes, u32 length, std::string& out)
{
    out.assign(reinterpret_cast<const char*>(bytes), length);
    return out.c_str();
}

}

const GgufType* find_gguf_type(const char* name)
{
    for (const GgufType& t : gguf_types)
        if (strcmp(t.name, name) == 0)
            return &t;
    return nullptr;
}

const char* gguf_type_names()
{
    return "f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|q5_k|q6_k|q4_k_m";
}

const char* find_chat_template(const char* name)
{
    if (strcmp(name, "tinyllama") == 0)
        return tinyllama_template;
    if (strcmp(name, "chatml") == 0)
        return chatml_template;
    if (strcmp(name, "llama2") == 0)
        return llama2_template;
    return nullptr;
}

Format format_for(const GgufModelSpec& spec, const char* role, i32 layer)
{
    if (!spec.type->q4_k_m)
        return spec.type->format;
    const bool classifier = strcmp(role, "output") == 0 || (spec.tied_classifier && strcmp(role, "token_embd") == 0);
    const i32 n = spec.config.n_layers;
    const bool more_bits = layer >= 0 && (layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2);
    if (classifier || (more_bits && (strcmp(role, "attn_v") == 0 || strcmp(role, "ffn_down") == 0)))
        return Format::Q6_K;
    return Format::Q4_K;
}

ErrorOr<void> add_tokenizer(GgufWriter& writer, const std::vector<u8>& bin, i32 vocab_size,
    const std::vector<std::string>& added_control)
{
    Tokenizer t {};
    const i32 bin_size = vocab_size - static_cast<i32>(added_control.size());
    TRY(build_tokenizer(t, bin.data(), bin.size(), bin_size));
    std::vector<std::string> tokens(vocab_size);
    std::vector<float> scores(vocab_size);
    std::vector<i32> types(vocab_size, 3);
    for (usize i = 0; i < added_control.size(); ++i)
        tokens[bin_size + i] = added_control[i];
    std::string piece;
    for (i32 id = 0; id < bin_size; ++id) {
        c_string_piece(t.vocab[id], t.vocab_length[id], piece);
        if (id == token_bos)
            piece = "<s>";  // tokenizer.bin writes BOS and EOS as "\n<s>\n" and "\n</s>\n"
        else if (id == token_eos)
            piece = "</s>";
        std::string converted;
        for (char ch : piece)
            converted += ch == ' ' ? std::string("\xe2\x96\x81") : std::string(1, ch);
        tokens[id] = converted;
        scores[id] = t.vocab_scores[id];
        types[id] = id == token_unk ? 2 : (id == token_bos || id == token_eos) ? 3 : (id < first_byte_token + 256) ? 6 : 1;
    }
    free_tokenizer(t);
    writer.add_string("tokenizer.ggml.model", "llama");
    writer.add_string_array("tokenizer.ggml.tokens", tokens);
    writer.add_f32_array("tokenizer.ggml.scores", scores);
    writer.add_i32_array("tokenizer.ggml.token_type", types);
    writer.add_u32("tokenizer.ggml.bos_token_id", token_bos);
    writer.add_u32("tokenizer.ggml.eos_token_id", token_eos);
    writer.add_u32("tokenizer.ggml.unknown_token_id", token_unk);
    writer.add_bool("tokenizer.ggml.add_bos_token", true);
    writer.add_bool("tokenizer.ggml.add_eos_token", false);
    return {};
}

// One stderr line per kind of fallback: "5 matrices (blk.0.ffn_down.weight, ...) have rows
// of 172 values, not whole q8_0 blocks: written as f16".
void report_fallbacks(const GgufModelSpec& spec, const std::vector<TensorPlan>& plans)
{
    for (usize i = 0; i < plans.size(); ++i) {
        const TensorPlan& t = plans[i];
        const Format wanted = format_for(spec, t.role, t.layer);
        if (!t.rows || t.format == wanted)
            continue;
        auto same = [&](const TensorPlan& o) {
            return o.rows && o.cols == t.cols && o.format == t.format && format_for(spec, o.role, o.layer) == wanted;
        };
        bool reported = false;
        for (usize j = 0; j < i && !reported; ++j)
            reported = same(plans[j]);
        if (reported)
            continue;
        usize count = 0;
        for (const TensorPlan& o : plans)
            count += same(o) ? 1 : 0;
        fprintf(stderr, "%zu %s (%s%s) %s rows of %u values, not whole %s blocks: written as %s\n", count,
            count == 1 ? "matrix" : "matrices", t.name.c_str(), count > 1 ? ", ..." : "", count == 1 ? "has" : "have",
            t.cols, mjit::format_name(wanted), mjit::format_name(t.format));
    }
}

ErrorOr<GgufWriter> plan_gguf_model(const GgufModelSpec& spec)
{
    const Config& c = spec.config;
    TRY(validate_config(c));
    GgufWriter w;
    w.add_string("general.architecture", "llama");
    w.add_string("general.name", spec.name);
    if (mjit::format_info(spec.type->format).block_values > 1)
        w.add_u32("general.quantization_version", 2);
    w.add_u32("llama.context_length", c.seq_len);
    w.add_u32("llama.embedding_length", c.dim);
    w.add_u32("llama.block_count", c.n_layers);
    w.add_u32("llama.feed_forward_length", c.hidden_dim);
    w.add_u32("llama.rope.dimension_count", c.head_size());
    w.add_u32("llama.attention.head_count", c.n_heads);
    w.add_u32("llama.attention.head_count_kv", c.n_kv_heads);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.add_f32("llama.rope.freq_base", 10000.0f);
    w.add_u32("llama.vocab_size", c.vocab_size);
    TRY(add_tokenizer(w, spec.tokenizer_bin, c.vocab_size));
    if (!spec.chat_template.empty())
        w.add_string("tokenizer.chat_template", spec.chat_template);
    const std::vector<TensorPlan> plans = tensor_plans(spec);
    report_fallbacks(spec, plans);
    for (const TensorPlan& t : plans) {
        auto added = t.rows ? w.add_tensor(t.name, { t.cols, t.rows }, t.format) : w.add_tensor(t.name, { t.cols }, t.format);
        if (added.is_error())
            return Error::make(ErrorCode::InvalidArgument, "%s cannot be %s: %s%s", t.name.c_str(), mjit::format_name(t.format),
                added.error().message(),
                mjit::format_info(t.format).block_values == 256 ? " (the K formats need widths that are multiples of 256)" : "");
    }
    return w;
}

ErrorOr<void> write_gguf_model(const GgufModelSpec& spec, const GgufWriter& plan, ChunkWriter& out)
{
    const std::vector<TensorPlan> plans = tensor_plans(spec);
    VERIFY(plans.size() == plan.tensor_count());
    return plan.write(out, [&](u64 index, ChunkWriter& to) { return write_tensor(spec, plans[index], to); });
}

}
