// Host-only: where a model or tokenizer named on the command line lives.
//
// The contract's search (../shared/docs/contract.md, "Models"): a name with a '/' is a
// path and is used as given; a bare file name is looked for in ./models, then in each
// directory of the colon-separated $BAREFLOW_MODEL_PATH. Every host tool resolves its
// model and tokenizer arguments through find_model_file().
#pragma once

#include "kernel_lib/base/error.h"

namespace tllama::host {

struct FoundFile {
    char path[4096];
};

enum class FileKind : u8 {
    Model,
    Tokenizer,
};

// IoOpen when nothing is found; the message lists where it looked and how to get it.
kl::ErrorOr<FoundFile> find_model_file(const char* name, FileKind kind);

}
