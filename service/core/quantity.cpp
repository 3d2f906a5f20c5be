#include "core/quantity.h"

#include <string>

namespace iopslimit::core {

namespace {

__extension__ using u128 = unsigned __int128;

bool isDigits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') out += '?';
        else out += c;
    }
    return out + "\"";
}

}  // namespace

std::string limitValueString(uint64_t v) { return v == 0 ? "max" : std::to_string(v); }

Result<uint64_t> parseIops(std::string_view text) {
    if (text == "max") return uint64_t{0};
    if (!isDigits(text))
        return makeError(quoted(text) + " is not a non-negative integer IOPS value (or \"max\")");
    if (text.size() > 19) return makeError(quoted(text) + " is too large");
    uint64_t v = std::stoull(std::string(text));
    if (v > kMaxLimitValue) return makeError(quoted(text) + " is too large");
    return v;
}

Result<uint64_t> parseByteQuantity(std::string_view text) {
    if (text == "max") return uint64_t{0};
    if (text.empty()) return makeError("empty quantity");
    if (text.size() > 64) return makeError("quantity too long");
    if (text[0] == '-') return makeError(quoted(text) + " is negative");
    if (text[0] == '+') return makeError(quoted(text) + ": signs are not allowed");

    // <digits>[.<digits>] then an optional suffix
    size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    std::string_view intPart = text.substr(0, i);
    std::string_view fracPart;
    if (i < text.size() && text[i] == '.') {
        size_t j = ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        fracPart = text.substr(j, i - j);
    }
    if (intPart.empty() && fracPart.empty())
        return makeError(quoted(text) + " is not a Kubernetes quantity (e.g. 1048576, 100M, 100Mi)");
    std::string_view suffix = text.substr(i);

    u128 multiplier = 1;
    if (suffix.empty()) {
    } else if (suffix.size() == 2 && suffix[1] == 'i') {
        int power;
        switch (suffix[0]) {
            case 'K': power = 1; break;
            case 'M': power = 2; break;
            case 'G': power = 3; break;
            case 'T': power = 4; break;
            case 'P': power = 5; break;
            case 'E': power = 6; break;
            default: return makeError(quoted(text) + ": unknown suffix \"" + std::string(suffix) + "\"");
        }
        for (int p = 0; p < power; ++p) multiplier *= 1024;
    } else if (suffix.size() == 1 && std::string_view("kMGTPE").find(suffix[0]) != std::string_view::npos) {
        int power = static_cast<int>(std::string_view("kMGTPE").find(suffix[0])) + 1;
        for (int p = 0; p < power * 3; ++p) multiplier *= 10;
    } else if ((suffix[0] == 'e' || suffix[0] == 'E') && isDigits(suffix.substr(1))) {
        if (suffix.size() > 3) return makeError(quoted(text) + " is too large");
        int power = std::stoi(std::string(suffix.substr(1)));
        if (power > 19) return makeError(quoted(text) + " is too large");
        for (int p = 0; p < power; ++p) multiplier *= 10;
    } else if (suffix == "m") {
        return makeError(quoted(text) + ": milli-units are not a byte rate");
    } else {
        return makeError(quoted(text) + ": unknown suffix \"" + std::string(suffix) + "\"");
    }

    // Strip leading zeros so long zero padding cannot overflow the mantissa.
    while (intPart.size() > 1 && intPart[0] == '0') intPart.remove_prefix(1);
    while (!fracPart.empty() && fracPart.back() == '0') fracPart.remove_suffix(1);
    if (intPart.size() + fracPart.size() > 30) return makeError(quoted(text) + " is too large");
    u128 mantissa = 0;
    for (char c : intPart) mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    for (char c : fracPart) mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    u128 divisor = 1;
    for (size_t p = 0; p < fracPart.size(); ++p) divisor *= 10;

    // mantissa < 10^30 and multiplier <= 2^60 or 10^19: check the product against 2^127 first.
    u128 limit = (u128{1} << 127) / multiplier;
    if (mantissa > limit) return makeError(quoted(text) + " is too large");
    u128 value = (mantissa * multiplier + divisor - 1) / divisor;  // round up, as Kubernetes does
    if (value > kMaxLimitValue) return makeError(quoted(text) + " is too large");
    return static_cast<uint64_t>(value);
}

std::string formatBytes(uint64_t v) {
    if (v == 0) return "max";
    static const char* bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    static const char* dec[] = {"", "k", "M", "G", "T", "P", "E"};
    int b = 0;
    uint64_t vb = v;
    while (vb % 1024 == 0 && b < 6) { vb /= 1024; ++b; }
    int d = 0;
    uint64_t vd = v;
    while (vd % 1000 == 0 && d < 6) { vd /= 1000; ++d; }
    if (b == 0 && d == 0) return std::to_string(v);
    return b >= d ? std::to_string(vb) + bin[b] : std::to_string(vd) + dec[d];
}

}  // namespace iopslimit::core
