// Space-delimited word lists, the wire form of OAuth scopes (RFC 6749 §3.3) and of the scopes
// stored with delegation records.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace custody {

// The words of `text` in order, without empty words or repeats.
std::vector<std::string> split_words(std::string_view text);
// The words joined by single spaces.
std::string join_words(const std::vector<std::string>& words);

}  // namespace custody
