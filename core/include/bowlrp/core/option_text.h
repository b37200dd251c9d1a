// Text forms of the list- and number-valued options, as command lines and Python keywords give them:
// pyramids "1x1,2x2" (COLSxROWS per level), pooling "sum" | "max" | "pmean:P"
// (the p-means exponent: sum is p = 1, max is p = inf). Each parser names `what` (a flag or keyword),
// the value and what was expected when it refuses; format_* give back the text parse_* reads.
#pragma once

#include <bowlrp/core/pyramid.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::core {

/// A value as messages quote it: 'value', or for a value longer than kQuotedLength characters its
/// first kQuotedLength characters, "…" and its length ('abc…' (100000 characters)), so that a huge
/// flag or keyword never floods a message. Every error message that echoes a user's value uses it.
std::string quoted(const std::string& value);
/// Characters (UTF-8 code points) of a value quoted() shows in full.
constexpr std::size_t kQuotedLength = 60;

/// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_csv(const std::string& text);
/// Parses "1x1,2x2,3x1" into pyramid levels (no empty level: "1x1," is refused); throws std::invalid_argument naming `what`.
std::vector<PyramidLevel> parse_pyramid(const std::string& text, const std::string& what = "pyramid");
/// Parses "sum" (p = 1), "pmean:P" (P > 0) or "max" (p = inf); throws std::invalid_argument naming `what`.
double parse_pooling(const std::string& text, const std::string& what = "pooling");
/// "4,6,8".
std::string format_int_list(const std::vector<int>& values);
/// "1x1,2x2".
std::string format_pyramid(const std::vector<PyramidLevel>& levels);
/// "sum", "max" or "pmean:P" (round-trip digits).
std::string format_pooling(double p);

}  // namespace bowlrp::core
