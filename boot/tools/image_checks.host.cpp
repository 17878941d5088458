// mkimage's model look-up and validation (see image_checks.h): the engine's own search
// and loaders, so the host refuses exactly what the kernel would.
#include "boot/tools/image_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "tinyllama/gguf/gguf.h"
#include "tinyllama/gguf/llama_model.h"
#include "tinyllama/gguf/tokenizer_gguf.h"
#include "tinyllama/host/model_search.h"
#include "tinyllama/model.h"
#include "tinyllama/tokenizer.h"

std::string default_tokenizer_for(const std::string& model)
{
    auto slash = model.find_last_of('/');
    std::string base = slash == std::string::npos ? model : model.substr(slash + 1);
    return base.rfind("stories260K", 0) == 0 ? "tok512.bin" : "tokenizer.bin";
}

std::string resolve_model_file(const std::string& name, const char* what)
{
    auto kind = std::string(what) == "tokenizer" ? tllama::host::FileKind::Tokenizer : tllama::host::FileKind::Model;
    auto found = tllama::host::find_model_file(name.c_str(), kind);
    if (found.is_error()) {
        fprintf(stderr, "mkimage: %s\n", found.error().message());
        exit(found.error().exit_status());
    }
    return found.value().path;
}

kl::ErrorOr<void> check_model_and_tokenizer(const std::vector<u8>& model, const std::vector<u8>& tokenizer,
    const std::string& model_path, const std::string& tokenizer_path)
{
    auto checkpoint = tllama::parse_checkpoint(model.data(), model.size());
    if (checkpoint.is_error())
        return kl::Error::make(checkpoint.error().code(), "model %s: %s", model_path.c_str(),
            checkpoint.error().message());
    tllama::Tokenizer t {};
    auto built = tllama::build_tokenizer(t, tokenizer.data(), tokenizer.size(), checkpoint.value().config.vocab_size);
    if (built.is_error())
        return kl::Error::make(built.error().code(), "tokenizer %s: %s", tokenizer_path.c_str(), built.error().message());
    tllama::free_tokenizer(t);
    return {};
}

bool is_gguf_name(const std::string& model)
{
    return model.size() >= 5 && strcasecmp(model.c_str() + model.size() - 5, ".gguf") == 0;
}

kl::ErrorOr<void> check_gguf_model(const std::vector<u8>& model, const std::string& model_path)
{
    namespace gguf = tllama::gguf;
    gguf::File file {};
    gguf::LlamaModel llama {};
    tllama::Tokenizer t {};
    auto checked = [&]() -> kl::ErrorOr<void> {
        TRY(gguf::parse(file, model.data(), model.size()));
        TRY(gguf::map_llama(llama, file));
        TRY(gguf::build_tokenizer_gguf(t, file, llama.config.vocab_size));
        return {};
    }();
    tllama::free_tokenizer(t);
    gguf::free_llama(llama);
    gguf::free_file(file);
    if (checked.is_error())
        return kl::Error::make(checked.error().code(), "model %s: %s", model_path.c_str(), checked.error().message());
    return {};
}
