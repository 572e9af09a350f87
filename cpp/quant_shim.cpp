// C shim over libtorch's dynamic int8 linear (fbgemm), called from rust/quant/ffi.rs.
//
// tch binds neither quantized::linear_prepack nor quantized::linear_dynamic, though
// libtorch_cpu registers both with the op dispatcher; this file reaches them there, boxed,
// so no internal header is needed. Contract with the Rust side:
// - Tensors cross as `at::Tensor*`, the representation tch uses for its `Tensor`. Inputs
//   are borrowed. An output tensor is a new heap `at::Tensor` that the caller owns (tch's
//   `Tensor::from_ptr` takes it; its Drop deletes it).
// - The packed weight is a `c10::IValue` holding the custom-class object; it lives on the
//   heap behind an opaque pointer that the caller owns and releases with
//   jbolt_quant_packed_free.
// - No C++ exception crosses into Rust: every entry point catches them all and returns a
//   message (heap string, released with jbolt_quant_string_free), or nullptr on success.

#include <ATen/Context.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <ATen/ops/_make_per_channel_quantized_tensor.h>
#include <ATen/ops/quantize_per_channel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

namespace {

char* copy_message(const char* text) {
  size_t n = std::strlen(text);
  char* out = static_cast<char*>(std::malloc(n + 1));
  if (out != nullptr) std::memcpy(out, text, n + 1);
  return out;
}

// Drops libtorch's one-time notice that quantized dtypes are deprecated (this shim uses them
// on purpose; the notice would reach the user's stderr) and passes every other warning on.
class QuietDeprecation : public c10::WarningHandler {
 public:
  explicit QuietDeprecation(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::Warning& warning) override {
    if (warning.msg().find("quantized tensor creation functions") != std::string::npos) return;
    if (next_ != nullptr) next_->process(warning);
  }

 private:
  c10::WarningHandler* next_;
};

// Runs `body` with the warning filter above (thread-local, restored on exit), turning any
// exception into a heap message.
template <typename F>
char* guarded(F&& body) {
  try {
    QuietDeprecation quiet(c10::WarningUtils::get_warning_handler());
    c10::WarningUtils::WarningHandlerGuard guard(&quiet);
    body();
    return nullptr;
  } catch (const std::exception& e) {
    return copy_message(e.what());
  } catch (...) {
    return copy_message("unknown c++ exception in the int8 shim");
  }
}

// Prefers the fbgemm engine (the x86 kernels Python's dynamic quantization uses), once.
void select_fbgemm() {
  static std::once_flag once;
  std::call_once(once, [] {
    const auto& engines = at::Context::supportedQEngines();
    if (std::find(engines.begin(), engines.end(), at::QEngine::FBGEMM) != engines.end()) {
      at::globalContext().setQEngine(at::QEngine::FBGEMM);
    }
  });
}

}  // namespace

extern "C" {

// Quantizes an fp32 weight [out, in] per output channel (axis 0) to qint8 with the given
// scales [out] (double) and zero points [out] (int64). *out receives a new heap tensor.
char* jbolt_quant_quantize_per_channel(const at::Tensor* weight, const at::Tensor* scales,
                                       const at::Tensor* zero_points, at::Tensor** out) {
  return guarded([&] {
    *out = nullptr;
    *out = new at::Tensor(at::quantize_per_channel(*weight, *scales, *zero_points, 0, at::kQInt8));
  });
}

// Wraps an int8 tensor [out, in] with per-channel scales and zero points (axis 0) as a qint8
// tensor, without changing the integers. *out receives a new heap tensor.
char* jbolt_quant_make_per_channel(const at::Tensor* int8, const at::Tensor* scales,
                                   const at::Tensor* zero_points, at::Tensor** out) {
  return guarded([&] {
    *out = nullptr;
    *out = new at::Tensor(at::_make_per_channel_quantized_tensor(*int8, *scales, *zero_points, 0));
  });
}

// Packs a per-channel qint8 weight [out, in] and an optional fp32 bias [out].
// On success *packed receives a new heap IValue owned by the caller.
char* jbolt_quant_linear_prepack(const at::Tensor* qweight, const at::Tensor* bias,
                                 void** packed) {
  return guarded([&] {
    *packed = nullptr;
    select_fbgemm();
    static const c10::OperatorHandle op =
        c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
    std::vector<c10::IValue> stack;
    stack.emplace_back(*qweight);
    if (bias != nullptr) {
      stack.emplace_back(*bias);
    } else {
      stack.emplace_back(c10::IValue());
    }
    op.callBoxed(stack);
    TORCH_CHECK(stack.size() == 1, "linear_prepack returned ", stack.size(), " values");
    *packed = new c10::IValue(std::move(stack[0]));
  });
}

// y = x W^T + b with x [*, in] fp32 quantized on the fly to uint8 (reduce_range as given).
// On success *out receives a new heap tensor [*, out] owned by the caller.
char* jbolt_quant_linear_dynamic(const at::Tensor* input, const void* packed, bool reduce_range,
                                 at::Tensor** out) {
  return guarded([&] {
    *out = nullptr;
    static const c10::OperatorHandle op =
        c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
    std::vector<c10::IValue> stack;
    stack.emplace_back(*input);
    stack.emplace_back(*static_cast<const c10::IValue*>(packed));
    stack.emplace_back(reduce_range);
    op.callBoxed(stack);
    TORCH_CHECK(stack.size() == 1, "linear_dynamic returned ", stack.size(), " values");
    *out = new at::Tensor(stack[0].toTensor());
  });
}

// Releases a packed weight made by jbolt_quant_linear_prepack (nullptr is ignored).
void jbolt_quant_packed_free(void* packed) {
  delete static_cast<c10::IValue*>(packed);
}

// Releases a message returned by any entry point above (nullptr is ignored).
void jbolt_quant_string_free(char* message) { std::free(message); }

}  // extern "C"
