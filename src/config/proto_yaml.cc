#include "config/proto_yaml.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/utf8.h"

namespace strait::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

using Result = std::expected<void, ConversionError>;

ConversionError error_at(const YAML::Node& node, const std::string& path, std::string reason) {
  const YAML::Mark mark = node.Mark();
  const bool known = mark.line >= 0 && mark.column >= 0 && !mark.is_null();
  return ConversionError{path, std::move(reason), known ? mark.line + 1 : 0, known ? mark.column + 1 : 0};
}

bool is_wrapper(const Descriptor* d) {
  const std::string& name = d->full_name();
  return name == "google.protobuf.DoubleValue" || name == "google.protobuf.FloatValue" ||
         name == "google.protobuf.Int64Value" || name == "google.protobuf.UInt64Value" ||
         name == "google.protobuf.Int32Value" || name == "google.protobuf.UInt32Value" ||
         name == "google.protobuf.BoolValue" || name == "google.protobuf.StringValue" ||
         name == "google.protobuf.BytesValue";
}

const FieldDescriptor* find_field(const Descriptor* d, const std::string& key) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->json_name() == key) return f;
  }
  return d->FindFieldByName(key);  // snake_case, as protobuf's JSON parser also accepts
}

template <typename T>
std::expected<T, std::string> parse_integer(const std::string& text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return std::unexpected("must be a whole number from " + std::to_string(std::numeric_limits<T>::min()) +
                           " to " + std::to_string(std::numeric_limits<T>::max()) + ", got '" + text + "'");
  }
  return value;
}

std::expected<double, std::string> parse_double(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || !std::isfinite(value))
    return std::unexpected("must be a number, got '" + text + "'");
  return value;
}

std::string enum_names(const EnumDescriptor* e) {
  std::string out;
  for (int i = 0; i < e->value_count(); ++i) {
    if (!out.empty()) out += ", ";
    out += e->value(i)->name();
  }
  return out;
}

Result fill_message(const YAML::Node& node, Message& message, const std::string& path);

// Sets (or adds, for repeated fields) one scalar or message value of `field` from `node`.
Result set_value(const YAML::Node& node, Message& message, const FieldDescriptor* field,
                 const std::string& path) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const Descriptor* type = field->message_type();
    Message* child = repeated ? r->AddMessage(&message, field) : r->MutableMessage(&message, field);
    if (type->full_name() == "google.protobuf.Duration") {
      if (!node.IsScalar()) return std::unexpected(error_at(node, path, "must be a duration such as 5s or 100ms"));
      auto d = parse_duration(node.Scalar());
      if (!d) return std::unexpected(error_at(node, path, d.error()));
      const Reflection* dr = child->GetReflection();
      dr->SetInt64(child, type->FindFieldByName("seconds"), d->count() / 1000);
      dr->SetInt32(child, type->FindFieldByName("nanos"), static_cast<std::int32_t>((d->count() % 1000) * 1'000'000));
      return {};
    }
    if (is_wrapper(type)) return set_value(node, *child, type->FindFieldByName("value"), path);
    return fill_message(node, *child, path);
  }
  if (!node.IsScalar()) return std::unexpected(error_at(node, path, "must be a single value, not a list or map"));
  const std::string& text = node.Scalar();
  auto fail = [&](const std::string& reason) { return std::unexpected(error_at(node, path, reason)); };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      // Protobuf strings must be UTF-8: anything else could be stored but never read back.
      if (field->type() == FieldDescriptor::TYPE_STRING && !is_valid_utf8(text)) return fail("must be valid UTF-8");
      repeated ? r->AddString(&message, field, text) : r->SetString(&message, field, text);
      return {};
    case FieldDescriptor::CPPTYPE_BOOL:
      if (text != "true" && text != "false") return fail("must be true or false, got '" + text + "'");
      repeated ? r->AddBool(&message, field, text == "true") : r->SetBool(&message, field, text == "true");
      return {};
    case FieldDescriptor::CPPTYPE_INT32: {
      auto v = parse_integer<std::int32_t>(text);
      if (!v) return fail(v.error());
      repeated ? r->AddInt32(&message, field, *v) : r->SetInt32(&message, field, *v);
      return {};
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      auto v = parse_integer<std::int64_t>(text);
      if (!v) return fail(v.error());
      repeated ? r->AddInt64(&message, field, *v) : r->SetInt64(&message, field, *v);
      return {};
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      auto v = parse_integer<std::uint32_t>(text);
      if (!v) return fail(v.error());
      repeated ? r->AddUInt32(&message, field, *v) : r->SetUInt32(&message, field, *v);
      return {};
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      auto v = parse_integer<std::uint64_t>(text);
      if (!v) return fail(v.error());
      repeated ? r->AddUInt64(&message, field, *v) : r->SetUInt64(&message, field, *v);
      return {};
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      auto v = parse_double(text);
      if (!v) return fail(v.error());
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        repeated ? r->AddDouble(&message, field, *v) : r->SetDouble(&message, field, *v);
      } else {
        repeated ? r->AddFloat(&message, field, static_cast<float>(*v))
                 : r->SetFloat(&message, field, static_cast<float>(*v));
      }
      return {};
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = field->enum_type()->FindValueByName(text);
      if (value == nullptr) return fail("unknown value '" + text + "' (one of " + enum_names(field->enum_type()) + ")");
      repeated ? r->AddEnum(&message, field, value) : r->SetEnum(&message, field, value);
      return {};
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return fail("unsupported field type");
}

Result set_map(const YAML::Node& node, Message& message, const FieldDescriptor* field,
               const std::string& path) {
  if (!node.IsMap()) return std::unexpected(error_at(node, path, "must be a map"));
  const Reflection* r = message.GetReflection();
  const Descriptor* entry_type = field->message_type();
  const FieldDescriptor* key_field = entry_type->map_key();
  const FieldDescriptor* value_field = entry_type->map_value();
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string entry_path = path + "." + key;
    // Map keys are names (labels, headers, ports): control characters have no place in them.
    if (std::ranges::any_of(key, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
      return std::unexpected(error_at(kv.first, path, "a key contains a control character"));
    Message* entry = r->AddMessage(&message, field);
    if (auto ok = set_value(kv.first, *entry, key_field, entry_path); !ok) return ok;
    if (auto ok = set_value(kv.second, *entry, value_field, entry_path); !ok) return ok;
  }
  return {};
}

Result fill_message(const YAML::Node& node, Message& message, const std::string& path) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) return std::unexpected(error_at(node, path, "must be a map of fields"));
  const Descriptor* d = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string child_path = path.empty() ? key : path + "." + key;
    const FieldDescriptor* field = find_field(d, key);
    if (field == nullptr) return std::unexpected(error_at(kv.first, child_path, "unknown field"));
    if (const auto* oneof = field->real_containing_oneof()) {
      if (const FieldDescriptor* set = r->GetOneofFieldDescriptor(message, oneof); set != nullptr && set != field) {
        return std::unexpected(error_at(kv.first, child_path,
                                        "only one of '" + set->json_name() + "' and '" + field->json_name() +
                                            "' may be set"));
      }
    }
    const YAML::Node& value = kv.second;
    if (field->is_map()) {
      if (auto ok = set_map(value, message, field, child_path); !ok) return ok;
    } else if (field->is_repeated()) {
      if (value.IsNull()) continue;
      if (!value.IsSequence()) return std::unexpected(error_at(value, child_path, "must be a list"));
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (auto ok = set_value(value[i], message, field, child_path + "[" + std::to_string(i) + "]"); !ok)
          return ok;
      }
    } else {
      if (auto ok = set_value(value, message, field, child_path); !ok) return ok;
    }
  }
  return {};
}

nlohmann::json value_to_json(const Message& message, const FieldDescriptor* field, int index);

// bytes fields are written as base64, as in protobuf's JSON mapping.
std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) | static_cast<std::uint8_t>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

nlohmann::json to_json(const Message& message) {
  const Descriptor* d = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  if (d->full_name() == "google.protobuf.Duration") {
    return format_istio_duration(r->GetInt64(message, d->FindFieldByName("seconds")),
                                 r->GetInt32(message, d->FindFieldByName("nanos")));
  }
  if (is_wrapper(d)) return value_to_json(message, d->FindFieldByName("value"), -1);
  nlohmann::json out = nlohmann::json::object();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->is_map()) {
      nlohmann::json map = nlohmann::json::object();
      for (int i = 0; i < r->FieldSize(message, f); ++i) {
        const Message& entry = r->GetRepeatedMessage(message, f, i);
        const auto key = value_to_json(entry, f->message_type()->map_key(), -1);
        map[key.is_string() ? key.get<std::string>() : key.dump()] =
            value_to_json(entry, f->message_type()->map_value(), -1);
      }
      out[f->json_name()] = std::move(map);
    } else if (f->is_repeated()) {
      nlohmann::json list = nlohmann::json::array();
      for (int i = 0; i < r->FieldSize(message, f); ++i) list.push_back(value_to_json(message, f, i));
      out[f->json_name()] = std::move(list);
    } else {
      out[f->json_name()] = value_to_json(message, f, -1);
    }
  }
  return out;
}

// One value of `field` (element `index` of a repeated field, or the single value with -1).
nlohmann::json value_to_json(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string value = rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_BYTES || !is_valid_utf8(value)) return base64(value);
      return value;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(message, field, index) : r->GetEnum(message, field))->name();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return to_json(rep ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field));
  }
  return nullptr;
}

}  // namespace

std::string ConversionError::to_string() const {
  std::string out = path + ": " + reason;
  if (line > 0) out += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  return out;
}

std::expected<void, ConversionError> yaml_to_message(const YAML::Node& node, Message& message,
                                                     const std::string& path) {
  message.Clear();
  try {  // yaml-cpp reports some malformed trees by exception; this runs on the control plane only.
    return fill_message(node, message, path);
  } catch (const YAML::Exception& e) {
    return std::unexpected(ConversionError{path, e.msg, e.mark.line + 1, e.mark.column + 1});
  }
}

nlohmann::json message_to_json(const Message& message) { return to_json(message); }

std::string format_istio_duration(std::int64_t seconds, std::int32_t nanos) {
  const std::int64_t total_ms = seconds * 1000 + nanos / 1'000'000;
  if (nanos % 1'000'000 != 0) {
    return std::to_string(seconds * 1'000'000 + nanos / 1000) + "us";
  }
  std::string out;
  std::int64_t rest = total_ms;
  if (rest == 0) return "0s";
  if (rest % 1000 != 0) return std::to_string(rest) + "ms";
  rest /= 1000;
  if (rest >= 3600) {
    out += std::to_string(rest / 3600) + "h";
    rest %= 3600;
  }
  if (rest >= 60) {
    out += std::to_string(rest / 60) + "m";
    rest %= 60;
  }
  if (rest > 0) out += std::to_string(rest) + "s";
  return out;
}

}  // namespace strait::config
