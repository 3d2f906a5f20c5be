#include "core/quantity.h"

#include <string>

namespace iopslimit::core {

namespace {

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

namespace {

constexpr size_t kMaxQuantityLength = 64;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
// The characters parseQuantityString() takes into a suffix before an exponent's sign and digits.
bool isSuffixLetter(char c) { return std::string_view("eEinumkKMGTP").find(c) != std::string_view::npos; }

struct Suffix {
    int64_t exp10 = 0;  // decimal SI or exponent
    int binary = 0;     // power of two (binary SI)
};

// resource.quantitySuffixer.interpret(): the suffix tables, else e/E and strconv.ParseInt(rest, 10, 64).
// Returns the reason when the suffix is not one of them.
Result<Suffix> interpretSuffix(std::string_view s) {
    static constexpr std::pair<std::string_view, int> dec[] = {{"", 0},  {"n", -9}, {"u", -6}, {"m", -3}, {"k", 3},
                                                               {"M", 6}, {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
    static constexpr std::pair<std::string_view, int> bin[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                               {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
    for (const auto& [name, e] : dec)
        if (s == name) return Suffix{e, 0};
    for (const auto& [name, e] : bin)
        if (s == name) return Suffix{0, e};
    const std::string unknown = "unknown suffix \"" + std::string(s) +
                                "\" (binary Ki Mi Gi Ti Pi Ei; decimal n u m k M G T P E, where m is milli and "
                                "M mega; or e/E and an exponent)";
    if (s.size() < 2 || (s[0] != 'e' && s[0] != 'E')) return makeError(unknown);
    std::string_view digits = s.substr(1);
    bool negative = false;
    if (digits[0] == '+' || digits[0] == '-') {
        negative = digits[0] == '-';
        digits.remove_prefix(1);
    }
    if (digits.empty()) return makeError(unknown);
    for (char c : digits)
        if (!isDigit(c)) return makeError(unknown);
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    // int64, as strconv.ParseInt: up to 9223372036854775807, down to -9223372036854775808.
    const std::string_view limit = negative ? "9223372036854775808" : "9223372036854775807";
    if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit))
        return makeError("the exponent " + std::string(s.substr(1)) + " is out of range (Kubernetes reads 64 bits)");
    int64_t e = 0;
    for (char c : digits) {
        uint64_t u = static_cast<uint64_t>(e) * 10 + static_cast<unsigned>(c - '0');
        e = static_cast<int64_t>(u);  // -2^63 is reached through the wrap, exactly
    }
    return Suffix{negative ? static_cast<int64_t>(0 - static_cast<uint64_t>(e)) : e, 0};
}

// Decimal digits (most significant first) times 2.
void timesTwo(std::string& digits) {
    int carry = 0;
    for (size_t i = digits.size(); i-- > 0;) {
        int d = (digits[i] - '0') * 2 + carry;
        digits[i] = static_cast<char>('0' + d % 10);
        carry = d / 10;
    }
    if (carry) digits.insert(digits.begin(), static_cast<char>('0' + carry));
}

std::string suffixHint(std::string_view text) {
    if (text.ends_with("m")) return "m is milli (1/1000), M is mega";
    if (text.ends_with("u")) return "u is micro (1/1000000)";
    if (text.ends_with("n")) return "n is nano (1/1000000000)";
    return "";
}

}  // namespace

Result<uint64_t> parseByteQuantity(std::string_view text) {
    if (text == "max") return uint64_t{0};
    if (text.empty()) return makeError("\"\" is not a Kubernetes quantity: it is empty");
    if (text.size() > kMaxQuantityLength)
        return makeError(quoted(text.substr(0, kMaxQuantityLength)) + "... is too long: a quantity here has at most " +
                         std::to_string(kMaxQuantityLength) + " characters");
    auto notQuantity = [&](const std::string& why) {
        return makeError(quoted(text) + " is not a Kubernetes quantity: " + why);
    };
    if (text.find_first_of(" \t\n\r\v\f") != std::string_view::npos) return notQuantity("spaces are not allowed");

    // The scan of parseQuantityString(): sign, digits, '.', digits, suffix letters, sign, digits.
    size_t i = 0;
    bool negative = false;
    if (text[0] == '+' || text[0] == '-') negative = text[i++] == '-';
    size_t intStart = i;
    while (i < text.size() && isDigit(text[i])) ++i;
    std::string_view intDigits = text.substr(intStart, i - intStart), fracDigits;
    if (i < text.size() && text[i] == '.') {
        size_t fracStart = ++i;
        while (i < text.size() && isDigit(text[i])) ++i;
        fracDigits = text.substr(fracStart, i - fracStart);
    }
    size_t suffixStart = i;
    while (i < text.size() && isSuffixLetter(text[i])) ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    while (i < text.size() && isDigit(text[i])) ++i;
    if (i < text.size())
        return notQuantity("expected an optional sign, digits with an optional \".\" and a suffix, as in 1048576, "
                           "100M, 100Mi, 1.5Gi or 1e9");
    auto suffix = interpretSuffix(text.substr(suffixStart));
    if (!suffix) return notQuantity(suffix.error().message);
    if (intDigits.empty() && fracDigits.empty())
        return notQuantity("the number has no digits (Kubernetes' parser reads it as 0; write 0 or max for unlimited)");

    // The exact value: digits x 2^binary x 10^exp10, as a decimal digit string and a power of ten.
    std::string digits = std::string(intDigits) + std::string(fracDigits);
    size_t nz = digits.find_first_not_of('0');
    if (nz == std::string::npos) return uint64_t{0};  // zero in any spelling: unlimited, as "0"
    if (negative) return makeError(quoted(text) + " is negative: a byte rate must be 0 (unlimited) or positive");
    digits.erase(0, nz);
    for (int b = 0; b < suffix->binary; ++b) timesTwo(digits);
    // digits has at most 64 + 19 characters: an exponent beyond +-1000 decides the outcome alone.
    int64_t exp10 = suffix->exp10;
    exp10 = exp10 > 1000 ? 1000 : exp10 < -1000 ? -1000 : exp10;
    exp10 -= static_cast<int64_t>(fracDigits.size());

    std::string intPart;
    bool fraction = false;
    if (exp10 >= 0) {
        if (digits.size() + static_cast<size_t>(exp10) > 17) intPart = std::string(18, '9');  // >= 10^17: too large
        else intPart = digits + std::string(static_cast<size_t>(exp10), '0');
    } else {
        size_t k = static_cast<size_t>(-exp10);
        if (digits.size() > k) intPart = digits.substr(0, digits.size() - k);
        std::string_view dropped = std::string_view(digits).substr(digits.size() > k ? digits.size() - k : 0);
        fraction = dropped.find_first_not_of('0') != std::string_view::npos;
        if (intPart.empty()) {
            // 0 < value < 1: Value() would round it up to 1 byte.
            std::string exact = "0." + std::string(k - digits.size(), '0') + digits;
            while (exact.back() == '0') exact.pop_back();
            std::string detail = exact.size() <= 24 ? exact : "";
            if (std::string hint = suffixHint(text); !hint.empty()) detail += (detail.empty() ? "" : "; ") + hint;
            if (!detail.empty()) detail = " (" + detail + ")";
            return makeError(quoted(text) + " is less than one byte per second" + detail +
                             ": a byte rate must be 0 (unlimited) or at least 1");
        }
    }
    if (intPart.size() > 17) intPart = std::string(18, '9');
    uint64_t value = std::stoull(intPart) + (fraction ? 1 : 0);  // rounded up, as Quantity.Value()
    if (value > kMaxLimitValue)
        return makeError(quoted(text) + " is too large: a byte rate is at most " + std::to_string(kMaxLimitValue) + " (" +
                         formatBytes(kMaxLimitValue) + ") bytes per second");
    return value;
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
