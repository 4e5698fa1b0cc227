#include "common/words.h"

#include <algorithm>

namespace custody {

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) {
      std::string word(text.substr(i, j - i));
      if (std::find(out.begin(), out.end(), word) == out.end()) out.push_back(std::move(word));
    }
    i = j + 1;
  }
  return out;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

}  // namespace custody
