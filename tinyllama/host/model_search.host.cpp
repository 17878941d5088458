// Model and tokenizer search (see model_search.h).
#include "tinyllama/host/model_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

namespace tllama::host {

using kl::Error;
using kl::ErrorCode;
using kl::ErrorOr;

namespace {

bool is_regular_file(const char* path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// Tries dir/name; on success fills `found`.
bool try_directory(const char* dir, usize dir_length, const char* name, FoundFile& found)
{
    const int n = snprintf(found.path, sizeof(found.path), "%.*s/%s", static_cast<int>(dir_length), dir, name);
    return n > 0 && static_cast<usize>(n) < sizeof(found.path) && is_regular_file(found.path);
}

// Appends ", dir" to the list of searched places; a list too long for the error message
// ends in "..." so that the hint after it still fits.
void note_searched(char* list, usize size, const char* dir, usize dir_length)
{
    const usize used = strlen(list);
    if (used >= 3 && strcmp(list + used - 3, "...") == 0)
        return;
    if (used + dir_length + 2 + 5 >= size) {
        snprintf(list + used, size - used, ", ...");
        return;
    }
    snprintf(list + used, size - used, "%s%.*s", used ? ", " : "", static_cast<int>(dir_length), dir);
}

const char* how_to_get(FileKind kind)
{
    return kind == FileKind::Model
        ? "get stories*.bin from huggingface.co/karpathy/tinyllamas (or make one with scripts/gen-model) into ./models "
          "or a $BAREFLOW_MODEL_PATH dir"
        : "tokenizer.bin comes with github.com/karpathy/llama2.c, tok512.bin with stories260K; put it into ./models "
          "or a $BAREFLOW_MODEL_PATH dir";
}

}

ErrorOr<FoundFile> find_model_file(const char* name, FileKind kind)
{
    const char* what = kind == FileKind::Model ? "model" : "tokenizer";
    FoundFile found;
    if (name[0] == '\0')
        return Error::make(ErrorCode::IoOpen, "empty %s file name", what);
    if (strchr(name, '/')) {
        if (!is_regular_file(name))
            return Error::make(ErrorCode::IoOpen, "%s file %s does not exist (or is not a file); %s", what, name, how_to_get(kind));
        snprintf(found.path, sizeof(found.path), "%s", name);
        return found;
    }

    char searched[112] = "";
    note_searched(searched, sizeof(searched), "./models", 8);
    if (try_directory("./models", 8, name, found))
        return found;
    const char* path = getenv("BAREFLOW_MODEL_PATH");
    for (const char* dir = path; dir && *dir;) {
        const char* colon = strchr(dir, ':');
        const usize length = colon ? static_cast<usize>(colon - dir) : strlen(dir);
        if (length > 0) {
            note_searched(searched, sizeof(searched), dir, length);
            if (try_directory(dir, length, name, found))
                return found;
        }
        dir = colon ? colon + 1 : nullptr;
    }
    const bool here = is_regular_file(name);
    if (here)
        return Error::make(ErrorCode::IoOpen, "%s %s not found in %s; the current directory has one: pass ./%s to use it", what,
            name, searched, name);
    return Error::make(ErrorCode::IoOpen, "%s %s not found in %s; %s", what, name, searched, how_to_get(kind));
}

}
