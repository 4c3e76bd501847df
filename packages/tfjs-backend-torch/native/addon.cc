// N-API addon: calls ATen operators by name through the boxed c10 dispatcher.
//
// JS API (see src/native.js):
//   op(name, overload) -> integer id (schema looked up once, cached)
//   schema(id) -> string
//   call(id, args, outPerm) -> result
//     args: one JS value per schema argument (fewer: defaults are used). Tensor arguments are arrays
//       [typedArray | null, shape, perm?, castDtype?, strides?]: the typed array is wrapped without a copy (from_blob)
//       with `shape` (and element `strides`: a view such as a crop), then permuted by `perm` (so an NHWC buffer
//       becomes a channels_last NCHW tensor); null means an uninitialised tensor of that shape.
//     outPerm: null, a permutation applied to every output whose rank equals its length, or an array of
//       (permutation | null) per output. Outputs come back as [typedArray, shape], contiguous in the permuted order,
//       sharing memory with the ATen tensor (external ArrayBuffer) unless they alias an input (then copied).
//   adam(w, m, v, g, params, form) -> [w', m', v']: one fused Adam step over Float32Arrays (see Adam below)
//   bnRelu(x, C, gamma, beta, eps, relu), bnReluGrad(dz, x, C, gamma, beta, mean, invstd, relu): training batch norm
//     [+ ReLU]; reflectPad(values, xShape, pads, grad): NHWC reflect padding and its gradient; maxPool2x2(x, xShape,
//     argmax), maxPool2x2Grad(dy, idx, xShape, y): 2x2 stride-2 max pooling, for training with int32 argmax
//   setThreads(n), getThreads(), info()
#include <node_api.h>

#include <ATen/ATen.h>
#ifdef TFJS_TORCH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/jit_type.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/csrc/api/include/torch/version.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <list>
#include <sys/mman.h>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <atomic>
#include <vector>

namespace {

struct JsError : std::exception {
  std::string msg;
  explicit JsError(std::string m) : msg(std::move(m)) {}
  const char* what() const noexcept override { return msg.c_str(); }
};

#define NAPI_OK(call)                                                   \
  do {                                                                  \
    if ((call) != napi_ok) throw JsError(std::string("N-API call failed: ") + #call); \
  } while (0)

// A caching CPU allocator for large blocks. tfjs runs the same shapes every training step; glibc serves blocks
// over 32 MB (and often smaller ones) with fresh mmaps, so every big activation costs page faults. Freed blocks of
// >= 256 KB are kept by exact (page-rounded) size, up to a cap (TFJS_TORCH_CACHE_MB; default a sixth of the physical
// memory, at most 4 GB; 0 disables). A free that would exceed the cap evicts the blocks freed longest ago, so sizes
// that stopped being used (the shapes changed) leave first, and a working set larger than the cap still mostly hits.
class CachingCPUAllocator final : public at::Allocator {
 public:
  static constexpr size_t kMin = 256 * 1024;
  size_t cap;
  CachingCPUAllocator() {
    const char* env = std::getenv("TFJS_TORCH_CACHE_MB");
    if (env && *env) {
      cap = static_cast<size_t>(std::atoll(env)) << 20;
    } else {
      size_t phys = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
      cap = std::min(phys / 6, static_cast<size_t>(4096) << 20);
    }
  }
  at::DataPtr allocate(size_t n) const override {
    if (n < kMin) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &freeAny, at::Device(at::DeviceType::CPU)};
    }
    size_t rounded = (n + 4095) & ~static_cast<size_t>(4095);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(rounded);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        order_.erase(where_.at(p));
        where_.erase(p);
        cached_ -= rounded;
      }
    }
    if (p == nullptr) p = map(rounded);
    {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = rounded;
    }
    return {p, p, &freeAny, at::Device(at::DeviceType::CPU)};
  }
  // One deleter for every block (raw_allocate/raw_deallocate users, e.g. oneDNN, need a raw deleter).
  at::DeleterFnPtr raw_deleter() const override { return &freeAny; }
  static void freeAny(void* p);
  void release(void* p) {
    std::vector<std::pair<void*, size_t>> unmap;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto it = sizes_.find(p);
      if (it == sizes_.end()) {  // a small block
        lock.unlock();
        c10::free_cpu(p);
        return;
      }
      size_t size = it->second;
      sizes_.erase(it);
      if (size > cap) {
        unmap.emplace_back(p, size);
      } else {
        while (cached_ + size > cap) {  // evict the blocks freed longest ago
          auto [q, qsize] = order_.back();
          order_.pop_back();
          where_.erase(q);
          auto& bucket = free_[qsize];
          bucket.erase(std::find(bucket.begin(), bucket.end(), q));
          cached_ -= qsize;
          if (exported_.count(q)) {  // JS holds a buffer over it: detached on the main thread first
            exported_.erase(q);
            pending_.emplace_back(q, qsize);
            hasPending_ = true;
          } else {
            unmap.emplace_back(q, qsize);
          }
        }
        free_[size].push_back(p);
        order_.emplace_front(p, size);
        where_[p] = order_.begin();
        cached_ += size;
      }
    }
    for (auto& q : unmap) munmap(q.first, q.second);
  }
  size_t cached() const { return cached_; }
  // The page-rounded size of the large block that starts at p and is in use, if it may get a JS buffer (its size is
  // within the cap, so it is cached when freed, not unmapped), else 0.
  size_t exportable(void* p) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    return it != sizes_.end() && it->second <= cap ? it->second : 0;
  }
  void markExported(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    exported_.insert(p);
  }
  void unexportAll() {
    std::lock_guard<std::mutex> lock(mu_);
    exported_.clear();
  }
  bool hasPending() const { return hasPending_; }
  // Evicted exported blocks: the caller detaches their JS buffers, then unmaps them.
  std::vector<std::pair<void*, size_t>> takePending() {
    std::lock_guard<std::mutex> lock(mu_);
    hasPending_ = false;
    std::vector<std::pair<void*, size_t>> out;
    out.swap(pending_);
    return out;
  }
  // Large blocks come straight from mmap: glibc's heap fragments badly under tfjs's allocation pattern (its free
  // lists grew by ~150 MB a training step while the bytes in use stayed flat).
  static void* map(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Transparent huge pages where the system allows them on request ("madvise", Debian's default): a fresh 30 MB
    // activation then costs 15 page faults instead of 7500.
    if (size >= (2u << 20)) madvise(p, size, MADV_HUGEPAGE);
    return p;
  }
  /** Bytes and count of large blocks in use (handed out, not yet freed). */
  std::pair<size_t, size_t> live() const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t bytes = 0;
    for (auto& kv : sizes_) bytes += kv.second;
    return {bytes, sizes_.size()};
  }

 private:
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  // Cached blocks, most recently freed first, and each block's place in that list.
  mutable std::list<std::pair<void*, size_t>> order_;
  mutable std::unordered_map<void*, std::list<std::pair<void*, size_t>>::iterator> where_;
  mutable std::unordered_map<void*, size_t> sizes_;
  mutable size_t cached_ = 0;
  std::unordered_set<void*> exported_;  // blocks with a JS buffer over them (see blockBuffer)
  std::vector<std::pair<void*, size_t>> pending_;
  std::atomic<bool> hasPending_{false};
};
CachingCPUAllocator* g_allocator = nullptr;
void CachingCPUAllocator::freeAny(void* p) { g_allocator->release(p); }

std::vector<c10::OperatorHandle> g_ops;
std::unordered_map<std::string, size_t> g_op_ids;
c10::Device g_device(c10::kCPU);

napi_valuetype typeOf(napi_env env, napi_value v) {
  napi_valuetype t;
  NAPI_OK(napi_typeof(env, v, &t));
  return t;
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t = typeOf(env, v);
  return t == napi_null || t == napi_undefined;
}

double getNumber(napi_env env, napi_value v, const char* what) {
  napi_valuetype t = typeOf(env, v);
  if (t == napi_boolean) {
    bool b;
    NAPI_OK(napi_get_value_bool(env, v, &b));
    return b ? 1 : 0;
  }
  if (t != napi_number) throw JsError(std::string("expected a number for ") + what);
  double d;
  NAPI_OK(napi_get_value_double(env, v, &d));
  return d;
}

std::string getString(napi_env env, napi_value v) {
  size_t len;
  NAPI_OK(napi_get_value_string_utf8(env, v, nullptr, 0, &len));
  std::string s(len, '\0');
  NAPI_OK(napi_get_value_string_utf8(env, v, &s[0], len + 1, &len));
  return s;
}

uint32_t arrayLength(napi_env env, napi_value v, const char* what) {
  bool isArr;
  NAPI_OK(napi_is_array(env, v, &isArr));
  if (!isArr) throw JsError(std::string("expected an array for ") + what);
  uint32_t n;
  NAPI_OK(napi_get_array_length(env, v, &n));
  return n;
}

napi_value element(napi_env env, napi_value arr, uint32_t i) {
  napi_value e;
  NAPI_OK(napi_get_element(env, arr, i, &e));
  return e;
}

std::vector<int64_t> getIntList(napi_env env, napi_value v, const char* what) {
  if (typeOf(env, v) == napi_number) return {static_cast<int64_t>(getNumber(env, v, what))};
  uint32_t n = arrayLength(env, v, what);
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; i++) out[i] = static_cast<int64_t>(getNumber(env, element(env, v, i), what));
  return out;
}

c10::ScalarType dtypeFromName(const std::string& s) {
  if (s == "float32") return at::kFloat;
  if (s == "int32") return at::kInt;
  if (s == "bool") return at::kBool;
  if (s == "int64") return at::kLong;
  if (s == "float64") return at::kDouble;
  throw JsError("unknown dtype '" + s + "'; expected float32, int32, bool, int64 or float64");
}

struct InputRec {
  const c10::StorageImpl* storage;
  const void* ptr;
  size_t nbytes;
  napi_value data;
};
struct CallCtx {
  std::vector<InputRec> inputs;
};

at::Tensor toTensor(napi_env env, napi_value v, CallCtx& ctx) {
  uint32_t n = arrayLength(env, v, "a tensor argument ([data, shape, perm?, dtype?])");
  if (n < 2) throw JsError("a tensor argument must be [data, shape, perm?, dtype?]");
  napi_value data = element(env, v, 0);
  std::vector<int64_t> shape = getIntList(env, element(env, v, 1), "tensor shape");
  at::Tensor t;
  if (isNullish(env, data)) {
    c10::ScalarType st = at::kFloat;
    if (n > 3 && !isNullish(env, element(env, v, 3))) st = dtypeFromName(getString(env, element(env, v, 3)));
    t = at::empty(shape, at::TensorOptions().dtype(st));
  } else {
    bool isTa;
    NAPI_OK(napi_is_typedarray(env, data, &isTa));
    if (!isTa) throw JsError("tensor data must be a typed array or null");
    napi_typedarray_type tt;
    size_t length;
    void* ptr;
    napi_value ab;
    size_t off;
    NAPI_OK(napi_get_typedarray_info(env, data, &tt, &length, &ptr, &ab, &off));
    c10::ScalarType st;
    switch (tt) {
      case napi_float32_array: st = at::kFloat; break;
      case napi_int32_array: st = at::kInt; break;
      case napi_uint8_array: st = at::kBool; break;
      case napi_float64_array: st = at::kDouble; break;
      case napi_int8_array: st = at::kChar; break;
      case napi_bigint64_array: st = at::kLong; break;
      default: throw JsError("unsupported typed array type for a tensor (expected Float32Array, Int32Array, Uint8Array)");
    }
    // Optional element strides (a view: e.g. a crop of an NHWC buffer, the typed array starting at its first element).
    std::vector<int64_t> strides;
    if (n > 4 && !isNullish(env, element(env, v, 4))) strides = getIntList(env, element(env, v, 4), "tensor strides");
    if (!strides.empty() && strides.size() != shape.size()) throw JsError("tensor strides must have one entry per dimension");
    int64_t numel = 1, extent = 1;
    for (size_t i = 0; i < shape.size(); i++) {
      numel *= shape[i];
      if (!strides.empty()) extent += (shape[i] - 1) * strides[i];
    }
    if (strides.empty()) extent = numel;
    if (numel == 0) extent = 0;
    if (static_cast<int64_t>(length) < extent)
      throw JsError("tensor data holds " + std::to_string(length) + " elements but its shape needs " +
                    std::to_string(extent));
    static float dummy = 0;
    if (ptr == nullptr) ptr = &dummy;  // empty typed arrays
    t = strides.empty() ? at::from_blob(ptr, shape, at::TensorOptions().dtype(st))
                        : at::from_blob(ptr, shape, strides, at::TensorOptions().dtype(st));
    ctx.inputs.push_back({t.storage().unsafeGetStorageImpl(), t.data_ptr(), t.nbytes(), data});
    if (n > 3 && !isNullish(env, element(env, v, 3))) {
      c10::ScalarType want = dtypeFromName(getString(env, element(env, v, 3)));
      if (want != st) t = t.to(want);
    }
  }
  if (n > 2 && !isNullish(env, element(env, v, 2))) t = t.permute(getIntList(env, element(env, v, 2), "perm"));
  if (g_device != c10::kCPU) t = t.to(g_device);
  return t;
}

c10::IValue toIValue(napi_env env, napi_value v, const c10::TypePtr& type, CallCtx& ctx, const std::string& name) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType: {
      if (isNullish(env, v)) return c10::IValue();
      return toIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), ctx, name);
    }
    case c10::TypeKind::TensorType:
      return toTensor(env, v, ctx);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      if (typeOf(env, v) == napi_string) return static_cast<int64_t>(dtypeFromName(getString(env, v)));
      return static_cast<int64_t>(getNumber(env, v, name.c_str()));
    case c10::TypeKind::ScalarTypeType:
      if (typeOf(env, v) == napi_string) return static_cast<int64_t>(dtypeFromName(getString(env, v)));
      return static_cast<int64_t>(getNumber(env, v, name.c_str()));
    case c10::TypeKind::FloatType:
      return getNumber(env, v, name.c_str());
    case c10::TypeKind::BoolType:
      return getNumber(env, v, name.c_str()) != 0;
    case c10::TypeKind::StringType:
      return getString(env, v);
    case c10::TypeKind::NumberType: {
      if (typeOf(env, v) == napi_boolean) return c10::Scalar(getNumber(env, v, name.c_str()) != 0);
      double d = getNumber(env, v, name.c_str());
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return c10::Scalar(static_cast<int64_t>(d));
      return c10::Scalar(d);
    }
    case c10::TypeKind::ListType: {
      auto elem = type->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case c10::TypeKind::IntType:
        case c10::TypeKind::SymIntType:
          return getIntList(env, v, name.c_str());
        case c10::TypeKind::FloatType: {
          uint32_t n = arrayLength(env, v, name.c_str());
          std::vector<double> out(n);
          for (uint32_t i = 0; i < n; i++) out[i] = getNumber(env, element(env, v, i), name.c_str());
          return out;
        }
        case c10::TypeKind::BoolType: {
          uint32_t n = arrayLength(env, v, name.c_str());
          c10::List<bool> out;
          for (uint32_t i = 0; i < n; i++) out.push_back(getNumber(env, element(env, v, i), name.c_str()) != 0);
          return out;
        }
        case c10::TypeKind::TensorType: {
          uint32_t n = arrayLength(env, v, name.c_str());
          c10::List<at::Tensor> out;
          for (uint32_t i = 0; i < n; i++) out.push_back(toTensor(env, element(env, v, i), ctx));
          return out;
        }
        case c10::TypeKind::OptionalType: {
          uint32_t n = arrayLength(env, v, name.c_str());
          c10::List<c10::optional<at::Tensor>> out;
          for (uint32_t i = 0; i < n; i++) {
            napi_value e = element(env, v, i);
            if (isNullish(env, e)) out.push_back(c10::nullopt);
            else out.push_back(toTensor(env, e, ctx));
          }
          return out;
        }
        default:
          break;
      }
      break;
    }
    default:
      break;
  }
  if (isNullish(env, v)) return c10::IValue();
  throw JsError("argument '" + name + "' has type " + type->str() + ", which this addon cannot convert from JS");
}

// Output buffers: each holds its at::Tensor in a Holder. free() releases the tensor at once (tfjs disposes
// deterministically, so memory goes back to the allocator while still hot) and detaches the ArrayBuffer so JS can no
// longer reach the freed memory; the GC finaliser only deletes the Holder (or releases it if free() never ran).
//
// V8 counts every external ArrayBuffer as external memory and starts a full mark-compact each time that count grows
// by 64 MB. A training step keeps hundreds of MB of activations alive, so every step paid for one or more full GCs;
// with a large JS heap (a notebook kernel holds the TypeScript compiler, ~280 MB) their concurrent marking took a
// core and made training 2.5x slower. These buffers are freed deterministically (tfjs disposes), so the addon takes
// them out of V8's count (napi_adjust_external_memory -n on creation, +n once the buffer is detached or collected).
struct Holder {
  at::Tensor t;
  int64_t uncounted = 0;  // bytes taken out of V8's external memory count, to give back when the buffer goes
};
std::unordered_map<void*, Holder*> g_live;

void giveBackToV8(napi_env env, Holder* h) {
  if (h->uncounted == 0) return;
  int64_t total;
  napi_adjust_external_memory(env, h->uncounted, &total);
  h->uncounted = 0;
}

// Large blocks (the caching allocator's, >= 256 KB) get one JS ArrayBuffer each, made the first time an output lands
// in the block and kept for as long as the block is mapped; every output in the block is a typed array over it, which
// owns its tensor through napi_wrap (freed by free(), or by its finaliser if tfjs never disposes it). V8 runs a young
// GC ("external memory pressure") every time JS allocates an ArrayBuffer while its young generation holds more than
// 32 MB of external buffers; a new external buffer per output kept it over that line all through a training step
// (BagNet: ~32 scavenges a step). Block buffers are made once, grow old, and leave the young generation alone.
// Only in the first JS environment that loads the addon (others, e.g. a worker thread's, take the per-output path).
struct BlockBuffer {
  napi_ref ref;
  size_t size;
};
std::unordered_map<void*, BlockBuffer> g_blocks;
napi_env g_blocksEnv = nullptr;
size_t g_views = 0;  // live outputs that are views of a block buffer

// Detaches the JS buffers of blocks the allocator evicted from its cache (their views are all freed: a view keeps its
// tensor, so its block, in use), and unmaps them.
void unmapEvicted(napi_env env) {
  if (!g_allocator->hasPending()) return;
  for (auto [p, size] : g_allocator->takePending()) {
    auto it = g_blocks.find(p);
    if (it != g_blocks.end()) {
      napi_value ab = nullptr;
      if (napi_get_reference_value(env, it->second.ref, &ab) == napi_ok && ab != nullptr) {
        int64_t total;
        napi_adjust_external_memory(env, static_cast<int64_t>(size), &total);  // before the detach: see Free
        napi_detach_arraybuffer(env, ab);
      }
      napi_delete_reference(env, it->second.ref);
      g_blocks.erase(it);
    }
    munmap(p, size);
  }
}

// The JS buffer over the block at base (size bytes), made and kept on first use; nullptr where external buffers are
// not allowed (V8 sandbox).
napi_value blockBuffer(napi_env env, void* base, size_t size) {
  napi_value ab = nullptr;
  auto it = g_blocks.find(base);
  if (it != g_blocks.end()) {
    if (napi_get_reference_value(env, it->second.ref, &ab) == napi_ok && ab != nullptr) return ab;
    napi_delete_reference(env, it->second.ref);
    g_blocks.erase(it);
  }
  if (napi_create_external_arraybuffer(env, base, size, nullptr, nullptr, &ab) != napi_ok) return nullptr;
  int64_t total;
  napi_adjust_external_memory(env, -static_cast<int64_t>(size), &total);  // freed deterministically: see Holder
  napi_ref ref;
  NAPI_OK(napi_create_reference(env, ab, 1, &ref));
  g_blocks[base] = BlockBuffer{ref, size};
  g_allocator->markExported(base);
  return ab;
}

void finalizeView(napi_env, void* data, void*) {
  delete static_cast<Holder*>(data);
  g_views--;
}

void finalizeTensor(napi_env env, void* data, void* hint) {
  auto* h = static_cast<Holder*>(hint);
  auto it = g_live.find(data);
  if (it != g_live.end() && it->second == h) g_live.erase(it);
  giveBackToV8(env, h);
  delete h;
}

// The JS form of a result: [values (a typed array), shape (t's sizes)].
napi_value valuesAndShape(napi_env env, napi_value values, const at::Tensor& t) {
  napi_value shape, pair;
  NAPI_OK(napi_create_array_with_length(env, t.dim(), &shape));
  for (int64_t i = 0; i < t.dim(); i++) {
    napi_value size;
    NAPI_OK(napi_create_int64(env, t.size(i), &size));
    NAPI_OK(napi_set_element(env, shape, i, size));
  }
  NAPI_OK(napi_create_array_with_length(env, 2, &pair));
  NAPI_OK(napi_set_element(env, pair, 0, values));
  NAPI_OK(napi_set_element(env, pair, 1, shape));
  return pair;
}

napi_value fromTensor(napi_env env, at::Tensor t, napi_value perm, CallCtx& ctx) {
  if (!t.defined()) {
    napi_value nul;
    NAPI_OK(napi_get_null(env, &nul));
    return nul;
  }
  if (t.device() != c10::kCPU) t = t.cpu();
  if (perm != nullptr && !isNullish(env, perm)) {
    auto p = getIntList(env, perm, "output perm");
    if (static_cast<int64_t>(p.size()) == t.dim()) t = t.permute(p);
  }
  napi_typedarray_type tt;
  switch (t.scalar_type()) {
    case at::kFloat: tt = napi_float32_array; break;
    case at::kInt: tt = napi_int32_array; break;
    case at::kBool: tt = napi_uint8_array; break;
    case at::kLong: tt = napi_bigint64_array; break;
    case at::kShort: case at::kChar: case at::kByte:
      t = t.to(at::kInt); tt = napi_int32_array; break;
    default:
      t = t.to(at::kFloat); tt = napi_float32_array; break;
  }
  napi_value reuse = nullptr;
  const c10::StorageImpl* si = t.storage().unsafeGetStorageImpl();
  for (auto& in : ctx.inputs) {
    if (in.storage != si) continue;
    // The result aliases an input buffer. An in-place op's result (same memory, same layout in the output order)
    // is returned as that very typed array; any other alias is copied, so outputs never share memory by accident.
    if (t.is_contiguous() && t.data_ptr() == in.ptr && t.nbytes() == in.nbytes) reuse = in.data;
    else t = t.clone(at::MemoryFormat::Contiguous);
    break;
  }
  if (reuse != nullptr) return valuesAndShape(env, reuse, t);
  if (env == g_blocksEnv) unmapEvicted(env);
  t = t.contiguous();
  size_t numel = static_cast<size_t>(t.numel());
  size_t nbytes = t.nbytes();
  if (env == g_blocksEnv && numel > 0) {
    void* base = t.storage().data_ptr().get();
    size_t blockSize = g_allocator->exportable(base);
    napi_value block = blockSize > 0 ? blockBuffer(env, base, blockSize) : nullptr;
    if (block != nullptr) {
      napi_value view;
      NAPI_OK(napi_create_typedarray(env, tt, numel, block, static_cast<char*>(t.data_ptr()) - static_cast<char*>(base), &view));
      NAPI_OK(napi_wrap(env, view, new Holder{t}, finalizeView, nullptr, nullptr));
      g_views++;
      return valuesAndShape(env, view, t);
    }
  }
  napi_value ab;
  if (numel == 0) {
    void* d;
    NAPI_OK(napi_create_arraybuffer(env, 0, &d, &ab));
  } else {
    auto* keep = new Holder{t};
    napi_status st = napi_create_external_arraybuffer(env, t.data_ptr(), nbytes, finalizeTensor, keep, &ab);
    if (st != napi_ok) {
      // External buffers may be disallowed (V8 sandbox): copy instead.
      delete keep;
      void* d;
      NAPI_OK(napi_create_arraybuffer(env, nbytes, &d, &ab));
      std::memcpy(d, t.data_ptr(), nbytes);
    } else {
      g_live[t.data_ptr()] = keep;
      int64_t total;
      if (napi_adjust_external_memory(env, -static_cast<int64_t>(nbytes), &total) == napi_ok)
        keep->uncounted = static_cast<int64_t>(nbytes);
    }
  }
  napi_value ta;
  NAPI_OK(napi_create_typedarray(env, tt, numel, ab, 0, &ta));
  return valuesAndShape(env, ta, t);
}

napi_value permFor(napi_env env, napi_value outPerm, size_t i) {
  if (outPerm == nullptr || isNullish(env, outPerm)) return nullptr;
  uint32_t n = arrayLength(env, outPerm, "outPerm");
  if (n == 0) return nullptr;
  napi_value first = element(env, outPerm, 0);
  if (typeOf(env, first) == napi_number) return outPerm;  // one permutation for all outputs
  if (i >= n) return nullptr;
  return element(env, outPerm, i);
}

napi_value fromIValue(napi_env env, const c10::IValue& iv, napi_value outPerm, size_t idx, CallCtx& ctx) {
  napi_value out;
  if (iv.isTensor()) return fromTensor(env, iv.toTensor(), permFor(env, outPerm, idx), ctx);
  if (iv.isNone()) {
    NAPI_OK(napi_get_null(env, &out));
    return out;
  }
  if (iv.isTensorList()) {
    auto list = iv.toTensorList();
    NAPI_OK(napi_create_array_with_length(env, list.size(), &out));
    for (size_t i = 0; i < list.size(); i++)
      NAPI_OK(napi_set_element(env, out, i, fromTensor(env, list.get(i), permFor(env, outPerm, i), ctx)));
    return out;
  }
  if (iv.isInt()) { NAPI_OK(napi_create_int64(env, iv.toInt(), &out)); return out; }
  if (iv.isDouble()) { NAPI_OK(napi_create_double(env, iv.toDouble(), &out)); return out; }
  if (iv.isBool()) { NAPI_OK(napi_get_boolean(env, iv.toBool(), &out)); return out; }
  throw JsError("cannot convert a result of type " + iv.tagKind() + " to JS");
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    napi_throw_error(env, nullptr, e.what_without_backtrace());
  } catch (const JsError& e) {
    napi_throw_error(env, nullptr, e.what());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  } catch (...) {
    napi_throw_error(env, nullptr, "unknown C++ exception in tfjs-backend-torch addon");
  }
  return nullptr;
}

napi_value Op(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 2;
    napi_value argv[2];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    std::string name = getString(env, argv[0]);
    std::string overload = argc > 1 && !isNullish(env, argv[1]) ? getString(env, argv[1]) : "";
    std::string key = name + "." + overload;
    auto it = g_op_ids.find(key);
    size_t id;
    if (it != g_op_ids.end()) {
      id = it->second;
    } else {
      auto h = c10::Dispatcher::singleton().findSchemaOrThrow(name.c_str(), overload.c_str());
      id = g_ops.size();
      g_ops.push_back(h);
      g_op_ids[key] = id;
    }
    napi_value out;
    NAPI_OK(napi_create_uint32(env, static_cast<uint32_t>(id), &out));
    return out;
  });
}

const c10::OperatorHandle& opById(napi_env env, napi_value v) {
  uint32_t id;
  NAPI_OK(napi_get_value_uint32(env, v, &id));
  if (id >= g_ops.size()) throw JsError("unknown operator id " + std::to_string(id));
  return g_ops[id];
}

napi_value Schema(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    std::stringstream ss;
    ss << opById(env, argv[0]).schema();
    napi_value out;
    std::string s = ss.str();
    NAPI_OK(napi_create_string_utf8(env, s.c_str(), s.size(), &out));
    return out;
  });
}

napi_value Call(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 3;
    napi_value argv[3];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 2) throw JsError("call(id, args, outPerm?) needs at least two arguments");
    const c10::OperatorHandle& op = opById(env, argv[0]);
    const auto& schema = op.schema();
    const auto& formals = schema.arguments();
    uint32_t n = arrayLength(env, argv[1], "args");
    if (n > formals.size())
      throw JsError(schema.name() + " takes " + std::to_string(formals.size()) + " arguments, got " + std::to_string(n));
    c10::InferenceMode guard;
    CallCtx ctx;
    std::vector<c10::IValue> stack;
    stack.reserve(formals.size());
    for (size_t i = 0; i < formals.size(); i++) {
      const auto& f = formals[i];
      napi_value v = nullptr;
      if (i < n) v = element(env, argv[1], i);
      if (v == nullptr || typeOf(env, v) == napi_undefined) {
        if (f.default_value()) {
          stack.push_back(*f.default_value());
          continue;
        }
        if (f.type()->kind() == c10::TypeKind::OptionalType) {
          stack.emplace_back();
          continue;
        }
        throw JsError(schema.name() + ": argument '" + f.name() + "' is required");
      }
      stack.push_back(toIValue(env, v, f.type(), ctx, schema.name() + "." + f.name()));
    }
    op.callBoxed(&stack);
    napi_value outPerm = argc > 2 ? argv[2] : nullptr;
    if (stack.size() == 1) return fromIValue(env, stack[0], outPerm, 0, ctx);
    napi_value out;
    NAPI_OK(napi_create_array_with_length(env, stack.size(), &out));
    for (size_t i = 0; i < stack.size(); i++)
      NAPI_OK(napi_set_element(env, out, i, fromIValue(env, stack[i], outPerm, i, ctx)));
    return out;
  });
}

void setProp(napi_env env, napi_value obj, const char* key, napi_value v);

// free(typedArray): releases the ATen tensor behind an output now: a view of a block buffer lets go of its tensor
// (the block goes back to the allocator's cache, its buffer stays); an output with its own buffer has it detached.
// Returns whether the array was a live native output.
napi_value Free(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    bool isTa;
    NAPI_OK(napi_is_typedarray(env, argv[0], &isTa));
    bool freed = false;
    void* view = nullptr;
    if (isTa && env == g_blocksEnv && napi_remove_wrap(env, argv[0], &view) == napi_ok && view != nullptr) {
      delete static_cast<Holder*>(view);
      g_views--;
      freed = true;
      unmapEvicted(env);
    } else if (isTa) {
      napi_typedarray_type tt;
      size_t length, off;
      void* ptr;
      napi_value ab;
      NAPI_OK(napi_get_typedarray_info(env, argv[0], &tt, &length, &ptr, &ab, &off));
      void* base;
      size_t bl;
      NAPI_OK(napi_get_arraybuffer_info(env, ab, &base, &bl));
      auto it = g_live.find(base);
      if (it != g_live.end()) {
        // Give the bytes back before V8 subtracts them at the detach: the other order dips V8's count below its
        // baseline, and V8 lowers its limit to that low mark + 64 MB, so the next large output started a full GC.
        giveBackToV8(env, it->second);
        NAPI_OK(napi_detach_arraybuffer(env, ab));
        it->second->t = at::Tensor();
        g_live.erase(it);
        freed = true;
      }
    }
    napi_value out;
    NAPI_OK(napi_get_boolean(env, freed, &out));
    return out;
  });
}

napi_value LiveCount(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value out;
    NAPI_OK(napi_create_uint32(env, static_cast<uint32_t>(g_live.size() + g_views), &out));
    return out;
  });
}

// memory(): {buffers: live outputs, blockBuffers: large blocks with a JS buffer, largeBytes/largeBlocks: large blocks in
//   use, cachedBytes: kept for reuse,
//   malloc*: glibc's figures, v8External: V8's external memory count (native outputs are kept out of it)}
napi_value Memory(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value obj, v;
    NAPI_OK(napi_create_object(env, &obj));
    auto lv = g_allocator->live();
    NAPI_OK(napi_create_double(env, static_cast<double>(g_live.size() + g_views), &v));
    setProp(env, obj, "buffers", v);
    NAPI_OK(napi_create_double(env, static_cast<double>(g_blocks.size()), &v));
    setProp(env, obj, "blockBuffers", v);  // large blocks with a JS buffer over them
    NAPI_OK(napi_create_double(env, static_cast<double>(lv.first), &v));
    setProp(env, obj, "largeBytes", v);
    NAPI_OK(napi_create_double(env, static_cast<double>(lv.second), &v));
    setProp(env, obj, "largeBlocks", v);
    NAPI_OK(napi_create_double(env, static_cast<double>(g_allocator->cached()), &v));
    setProp(env, obj, "cachedBytes", v);
    struct mallinfo2 mi = mallinfo2();
    NAPI_OK(napi_create_double(env, static_cast<double>(mi.uordblks + mi.hblkhd), &v));
    setProp(env, obj, "mallocInUse", v);
    NAPI_OK(napi_create_double(env, static_cast<double>(mi.fordblks), &v));
    setProp(env, obj, "mallocFree", v);
    NAPI_OK(napi_create_double(env, static_cast<double>(mi.arena), &v));
    setProp(env, obj, "mallocArena", v);
    int64_t v8External;
    NAPI_OK(napi_adjust_external_memory(env, 0, &v8External));
    NAPI_OK(napi_create_double(env, static_cast<double>(v8External), &v));
    setProp(env, obj, "v8External", v);  // the count that decides V8's external-memory-pressure GCs
    return obj;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    int n = static_cast<int>(getNumber(env, argv[0], "threads"));
    if (n < 1) throw JsError("threads must be >= 1");
    at::set_num_threads(n);
    napi_value out;
    NAPI_OK(napi_get_undefined(env, &out));
    return out;
  });
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value out;
    NAPI_OK(napi_create_int32(env, at::get_num_threads(), &out));
    return out;
  });
}

napi_value SetDevice(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    std::string d = getString(env, argv[0]);
    if (d == "cuda" && !at::hasCUDA())
      throw JsError("device 'cuda' requested but this libtorch has no CUDA support or no GPU is visible");
    g_device = c10::Device(d);
    napi_value out;
    NAPI_OK(napi_get_undefined(env, &out));
    return out;
  });
}

// One Adam step over float32 arrays of one length, in one pass (tfjs runs ~15 full-size ops a weight). Each operation
// is one IEEE float32 operation in the order of the JS optimiser it replaces, with no contraction into FMAs, so the
// result is bit-identical to that optimiser on tfjs's cpu backend (which rounds each op's double result to float32).
//   m' = m*beta1 + g*oneMinusBeta1;  v' = v*beta2 + (g*g)*oneMinusBeta2
//   form 0 (tfjs's AdamOptimizer): w' = ((m'/bc1) / (sqrt(v'/bc2) + eps)) * negLr + w
//   form 1 (lib/train's Optimizer, negLr = lr/bc1): w' = w - (m'*negLr) / (sqrt(v'/bc2) + eps)
__attribute__((optimize("fp-contract=off"))) void adamStep(const float* w, const float* m, const float* v, const float* g,
                                                            float* wo, float* mo, float* vo, int64_t n, const float* p,
                                                            int form) {
  const float b1 = p[0], b2 = p[1], omb1 = p[2], omb2 = p[3], bc1 = p[4], bc2 = p[5], lr = p[6], eps = p[7];
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float gi = g[i];
      const float mi = m[i] * b1 + gi * omb1;
      const float vi = v[i] * b2 + (gi * gi) * omb2;
      const float den = std::sqrt(vi / bc2) + eps;
      mo[i] = mi;
      vo[i] = vi;
      wo[i] = form == 0 ? ((mi / bc1) / den) * lr + w[i] : w[i] - (mi * lr) / den;
    }
  });
}

// A Float32Array argument's data, its length in *length; fn and what name it in errors (orNull: null was allowed too).
const float* floatArray(napi_env env, napi_value v, size_t* length, const char* fn, const char* what, bool orNull = false) {
  bool isTa;
  NAPI_OK(napi_is_typedarray(env, v, &isTa));
  napi_typedarray_type tt = napi_int8_array;
  void* ptr = nullptr;
  napi_value ab;
  size_t off;
  if (isTa) NAPI_OK(napi_get_typedarray_info(env, v, &tt, length, &ptr, &ab, &off));
  if (!isTa || tt != napi_float32_array)
    throw JsError(std::string(fn) + ": " + what + " must be a Float32Array" + (orNull ? " or null" : ""));
  return static_cast<const float*>(ptr);
}

// adam(w, m, v, g, params, form) -> [[w', shape], [m', shape], [v', shape]] (new buffers, 1-D):
//   params = [beta1, beta2, oneMinusBeta1, oneMinusBeta2, bc1, bc2, lr, epsilon] as float32 values (see adamStep).
napi_value Adam(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 6;
    napi_value argv[6];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 6) throw JsError("adam(w, m, v, g, params, form) needs six arguments");
    size_t n = 0, k;
    const float* w = floatArray(env, argv[0], &n, "adam", "w");
    const float* in[3];
    const char* names[3] = {"m", "v", "g"};
    for (int j = 0; j < 3; j++) {
      in[j] = floatArray(env, argv[1 + j], &k, "adam", names[j]);
      if (k != n) throw JsError(std::string("adam: ") + names[j] + " holds " + std::to_string(k) + " values, w " + std::to_string(n));
    }
    float p[8];
    if (arrayLength(env, argv[4], "params") != 8) throw JsError("adam: params must hold 8 numbers");
    for (uint32_t j = 0; j < 8; j++) p[j] = static_cast<float>(getNumber(env, element(env, argv[4], j), "adam param"));
    int form = static_cast<int>(getNumber(env, argv[5], "form"));
    if (form != 0 && form != 1) throw JsError("adam: form must be 0 (tfjs) or 1 (lib/train)");
    c10::InferenceMode guard;
    int64_t len = static_cast<int64_t>(n);
    at::Tensor out[3] = {at::empty({len}), at::empty({len}), at::empty({len})};
    if (n > 0)
      adamStep(w, in[0], in[1], in[2], out[0].data_ptr<float>(), out[1].data_ptr<float>(), out[2].data_ptr<float>(), len, p,
               form);
    CallCtx ctx;
    napi_value res;
    NAPI_OK(napi_create_array_with_length(env, 3, &res));
    for (uint32_t j = 0; j < 3; j++) NAPI_OK(napi_set_element(env, res, j, fromTensor(env, out[j], nullptr, ctx)));
    return res;
  });
}

// Training-mode batch norm, optionally followed by ReLU (kRelu), over a channels-last buffer seen as M rows of C
// channels, in two passes forward and two backward (ATen's native_batch_norm reads x three times forward, and a
// separate relu adds a pass each way; see bnReluBackward for the mask). Per-channel sums are accumulated in double over a fixed split of the rows (blocks depend on
// M only), and the blocks are added in order: the result does not depend on the thread count or scheduling.
// Compiled at O3 (the rest of the addon is O2), lambdas included, so that the channel loops vectorise: the ReLU mask
// then becomes a blend instead of a branch that random signs mispredict (a 5x slower backward pass). No contraction
// into FMAs, so the forward and the backward compute the same pre-activation x*a + b.
#pragma GCC push_options
#pragma GCC optimize("O3", "fp-contract=off")
constexpr int64_t kBnBlockRows = 512;
int64_t bnBlocks(int64_t M) { return std::max<int64_t>(1, std::min<int64_t>(256, (M + kBnBlockRows - 1) / kBnBlockRows)); }

// Per-channel scale a = gamma*invstd and shift b = beta - mean*a: z = max(0, x*a + b). One function for both passes,
// so that the backward recomputes exactly the forward's pre-activation sign.
void bnAffine(const float* gamma, const float* beta, const float* mean, const float* invstd, int64_t C, float* a, float* b) {
  for (int64_t c = 0; c < C; c++) {
    a[c] = (gamma ? gamma[c] : 1.0f) * invstd[c];
    b[c] = (beta ? beta[c] : 0.0f) - mean[c] * a[c];
  }
}

// Sums over blocks of rows: f(block, rowBegin, rowEnd, acc) adds into acc[0..width); returns the in-order total.
template <typename F>
std::vector<double> blockSums(int64_t M, int64_t width, F f) {
  const int64_t nb = bnBlocks(M);
  std::vector<double> part(static_cast<size_t>(nb * width), 0.0);
  at::parallel_for(0, nb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) f(b * M / nb, (b + 1) * M / nb, part.data() + b * width);
  });
  std::vector<double> total(static_cast<size_t>(width), 0.0);
  for (int64_t b = 0; b < nb; b++)
    for (int64_t j = 0; j < width; j++) total[j] += part[b * width + j];
  return total;
}

template <bool kRelu>
void bnReluForward(const float* x, int64_t M, int64_t C, const float* gamma, const float* beta, double eps, float* z,
                   float* mean, float* var, float* invstd) {
  auto s = blockSums(M, 2 * C, [&](int64_t r0, int64_t r1, double* acc) {
    double* sum = acc;
    double* sq = acc + C;
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * C;
      for (int64_t c = 0; c < C; c++) {
        const double v = row[c];
        sum[c] += v;
        sq[c] += v * v;
      }
    }
  });
  for (int64_t c = 0; c < C; c++) {
    const double m = s[c] / static_cast<double>(M);
    const double v = std::max(0.0, s[C + c] / static_cast<double>(M) - m * m);
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(v);
    invstd[c] = static_cast<float>(1.0 / std::sqrt(v + eps));
  }
  std::vector<float> a(C), b(C);
  bnAffine(gamma, beta, mean, invstd, C, a.data(), b.data());
  const float* pa = a.data();
  const float* pb = b.data();
  at::parallel_for(0, M, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * C;
      float* out = z + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float v = row[c] * pa[c] + pb[c];
        out[c] = kRelu ? std::max(0.0f, v) : v;
      }
    }
  });
}

// g = dz where the forward's pre-activation x*a + b was positive, else 0 (recomputed from x: no mask is stored).
// dbeta = sum(g), dgamma = sum(g (x - mean)) invstd, dx = gamma invstd (g - dbeta/M - (x - mean) invstd^2 sum(g (x - mean))/M).
template <bool kRelu>
void bnReluBackward(const float* dz, const float* x, int64_t M, int64_t C, const float* gamma, const float* beta,
                    const float* mean, const float* invstd, float* dx, float* dgamma, float* dbeta) {
  std::vector<float> a(C), b(C);
  bnAffine(gamma, beta, mean, invstd, C, a.data(), b.data());
  const float* pa = a.data();
  const float* pb = b.data();
  auto s = blockSums(M, 2 * C, [&](int64_t r0, int64_t r1, double* acc) {
    double* sg = acc;
    double* sgx = acc + C;
    std::vector<float> grow(C);  // the row's masked gradient: a separate loop, so that both loops vectorise
    float* g = grow.data();
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * C;
      const float* drow = dz + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float d = drow[c];  // loaded unconditionally, so that the select vectorises
        g[c] = !kRelu || row[c] * pa[c] + pb[c] > 0.0f ? d : 0.0f;
      }
      for (int64_t c = 0; c < C; c++) {
        sg[c] += g[c];
        sgx[c] += static_cast<double>(g[c]) * (static_cast<double>(row[c]) - mean[c]);
      }
    }
  });
  std::vector<float> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; c++) {
    const double is = invstd[c];
    dbeta[c] = static_cast<float>(s[c]);
    dgamma[c] = static_cast<float>(s[C + c] * is);
    k1[c] = static_cast<float>((gamma ? gamma[c] : 1.0f) * is);
    k2[c] = static_cast<float>(s[c] / static_cast<double>(M));
    k3[c] = static_cast<float>(is * is * s[C + c] / static_cast<double>(M));
  }
  const float* p1 = k1.data();
  const float* p2 = k2.data();
  const float* p3 = k3.data();
  at::parallel_for(0, M, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * C;
      const float* drow = dz + r * C;
      float* out = dx + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float d = drow[c];  // loaded unconditionally, so that the select below vectorises
        const float g = !kRelu || row[c] * pa[c] + pb[c] > 0.0f ? d : 0.0f;
        out[c] = p1[c] * (g - p2[c] - (row[c] - mean[c]) * p3[c]);
      }
    }
  });
}

#pragma GCC pop_options

// A Float32Array argument of `want` values (or null when `optional` and the argument is null).
const float* floatArg(napi_env env, napi_value v, size_t want, const char* fn, const char* what, bool optional) {
  if (optional && isNullish(env, v)) return nullptr;
  size_t n = 0;
  const float* p = floatArray(env, v, &n, fn, what, optional);
  if (n != want)
    throw JsError(std::string(fn) + ": " + what + " holds " + std::to_string(n) + " values, expected " + std::to_string(want));
  return p;
}

napi_value tensorList(napi_env env, std::initializer_list<at::Tensor> ts) {
  CallCtx ctx;
  napi_value res;
  NAPI_OK(napi_create_array_with_length(env, ts.size(), &res));
  uint32_t j = 0;
  for (const auto& t : ts) NAPI_OK(napi_set_element(env, res, j++, fromTensor(env, t, nullptr, ctx)));
  return res;
}

// x's data, checked to be a non-empty Float32Array of rows of C values, its length in *n (fn names the caller).
const float* rowsOfChannels(napi_env env, napi_value x, int64_t C, const char* fn, size_t* n) {
  const float* p = floatArray(env, x, n, fn, "x");
  if (C < 1 || *n == 0 || *n % C != 0)
    throw JsError(std::string(fn) + ": x must be a non-empty Float32Array whose length is a multiple of C=" + std::to_string(C));
  return p;
}

// bnRelu(x, C, gamma|null, beta|null, eps, relu) -> [[z], [mean], [var], [invstd]] (1-D; z has x's length).
napi_value BnRelu(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 6;
    napi_value argv[6];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 6) throw JsError("bnRelu(x, C, gamma, beta, eps, relu) needs six arguments");
    const int64_t C = static_cast<int64_t>(getNumber(env, argv[1], "C"));
    size_t n = 0;
    const float* x = rowsOfChannels(env, argv[0], C, "bnRelu", &n);
    const float* gamma = floatArg(env, argv[2], C, "bnRelu", "gamma", true);
    const float* beta = floatArg(env, argv[3], C, "bnRelu", "beta", true);
    const double eps = getNumber(env, argv[4], "eps");
    c10::InferenceMode guard;
    at::Tensor z = at::empty({static_cast<int64_t>(n)}), mean = at::empty({C}), var = at::empty({C}), invstd = at::empty({C});
    const bool relu = getNumber(env, argv[5], "relu") != 0;
    (relu ? bnReluForward<true> : bnReluForward<false>)(x, static_cast<int64_t>(n) / C, C, gamma, beta, eps,
                                                       z.data_ptr<float>(), mean.data_ptr<float>(), var.data_ptr<float>(),
                                                       invstd.data_ptr<float>());
    return tensorList(env, {z, mean, var, invstd});
  });
}

// bnReluGrad(dz, x, C, gamma|null, beta|null, mean, invstd, relu) -> [[dx], [dgamma], [dbeta]].
napi_value BnReluGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 8;
    napi_value argv[8];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 8) throw JsError("bnReluGrad(dz, x, C, gamma, beta, mean, invstd, relu) needs eight arguments");
    const int64_t C = static_cast<int64_t>(getNumber(env, argv[2], "C"));
    size_t n = 0;
    const float* x = rowsOfChannels(env, argv[1], C, "bnReluGrad", &n);
    const float* dz = floatArg(env, argv[0], n, "bnReluGrad", "dz", false);
    const float* gamma = floatArg(env, argv[3], C, "bnReluGrad", "gamma", true);
    const float* beta = floatArg(env, argv[4], C, "bnReluGrad", "beta", true);
    const float* mean = floatArg(env, argv[5], C, "bnReluGrad", "mean", false);
    const float* invstd = floatArg(env, argv[6], C, "bnReluGrad", "invstd", false);
    c10::InferenceMode guard;
    at::Tensor dx = at::empty({static_cast<int64_t>(n)}), dgamma = at::empty({C}), dbeta = at::empty({C});
    const bool relu = getNumber(env, argv[7], "relu") != 0;
    (relu ? bnReluBackward<true> : bnReluBackward<false>)(dz, x, static_cast<int64_t>(n) / C, C, gamma, beta, mean, invstd,
                                                         dx.data_ptr<float>(), dgamma.data_ptr<float>(),
                                                         dbeta.data_ptr<float>());
    return tensorList(env, {dx, dgamma, dbeta});
  });
}

// A list of exactly `want` integers (what names it in errors).
std::vector<int64_t> intList(napi_env env, napi_value v, const char* what, uint32_t want) {
  if (arrayLength(env, v, what) != want) throw JsError(std::string(what) + " needs " + std::to_string(want) + " numbers");
  std::vector<int64_t> out;
  for (uint32_t i = 0; i < want; i++) out.push_back(static_cast<int64_t>(getNumber(env, element(env, v, i), what)));
  return out;
}

// Reflect padding of an NHWC map and its gradient, each one gather pass (ATen's reflection_pad2d and its backward
// run channels_last maps about 5-10x slower than a copy). refl(a) mirrors a at 0 and len - 1 without repeating the
// edge; pads are below the axis length (the caller checks).
inline int64_t reflectIndex(int64_t a, int64_t len) { return a < 0 ? -a : a >= len ? 2 * (len - 1) - a : a; }

// out[n, i, j] = x[n, refl(i - top), refl(j - left)]: per output row, the interior as one run of W*C floats.
void reflectPadForward(const float* x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t bottom, int64_t left,
                       int64_t right, float* out) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right;
  at::parallel_for(0, N * Ho, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t n = r / Ho, i = r % Ho;
      const float* src = x + (n * H + reflectIndex(i - top, H)) * W * C;
      float* dst = out + r * Wo * C;
      for (int64_t j = 0; j < left; j++) std::memcpy(dst + j * C, src + reflectIndex(j - left, W) * C, C * sizeof(float));
      std::memcpy(dst + left * C, src, W * C * sizeof(float));
      for (int64_t j = left + W; j < Wo; j++) std::memcpy(dst + j * C, src + reflectIndex(j - left, W) * C, C * sizeof(float));
    }
  });
}

// The output positions (along one axis) that read input position y: y + before, and its mirror images in the pads.
int reflectSources(int64_t y, int64_t len, int64_t before, int64_t after, int64_t* src) {
  int k = 0;
  src[k++] = y + before;
  if (y >= 1 && y <= before) src[k++] = before - y;                                   // mirrored into the top/left pad
  if (y <= len - 2 && y >= len - 1 - after) src[k++] = before + 2 * (len - 1) - y;  // into the bottom/right pad
  return k;
}

// dx[n, y, x] = sum of dy over the output positions reading (y, x): a gather (each dx row written by one thread, in a
// fixed order), so the sums do not depend on threads.
void reflectPadBackward(const float* dy, int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t bottom,
                        int64_t left, int64_t right, float* dx) {
  const int64_t Ho = H + top + bottom, Wo = W + left + right;
  at::parallel_for(0, N * H, 16, [&](int64_t r0, int64_t r1) {
    int64_t rows[3], cols[3];
    for (int64_t r = r0; r < r1; r++) {
      const int64_t n = r / H, y = r % H;
      const int nr = reflectSources(y, H, top, bottom, rows);
      float* dst = dx + r * W * C;
      std::memcpy(dst, dy + ((n * Ho + rows[0]) * Wo + left) * C, W * C * sizeof(float));
      for (int a = 1; a < nr; a++) {
        const float* src = dy + ((n * Ho + rows[a]) * Wo + left) * C;
        for (int64_t k = 0; k < W * C; k++) dst[k] += src[k];
      }
      // Columns mirrored into the left and right pads, from every source row.
      for (int64_t x = 0; x < W; x++) {
        const int nc = reflectSources(x, W, left, right, cols);
        for (int b = 1; b < nc; b++)
          for (int a = 0; a < nr; a++) {
            const float* src = dy + ((n * Ho + rows[a]) * Wo + cols[b]) * C;
            for (int64_t k = 0; k < C; k++) dst[x * C + k] += src[k];
          }
      }
    }
  });
}

// reflectPad(values, xShape [N,H,W,C], pads [top,bottom,left,right], grad) -> [values, shape]: with grad false, values
// is x and the result the padded map; with grad true, values is dy of the padded shape and the result dx (xShape).
napi_value ReflectPad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 4;
    napi_value argv[4];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 4) throw JsError("reflectPad(values, xShape, pads, grad) needs four arguments");
    const auto xs = intList(env, argv[1], "xShape", 4);
    const auto p = intList(env, argv[2], "pads", 4);
    const bool grad = getNumber(env, argv[3], "grad") != 0;
    const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3];
    if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0 || std::max(p[0], p[1]) >= H || std::max(p[2], p[3]) >= W)
      throw JsError("reflectPad: pads must be non-negative and smaller than the axis they pad");
    const int64_t Ho = H + p[0] + p[1], Wo = W + p[2] + p[3];
    const float* in = floatArg(env, argv[0], static_cast<size_t>(grad ? N * Ho * Wo * C : N * H * W * C), "reflectPad",
                               grad ? "dy" : "x", false);
    c10::InferenceMode guard;
    at::Tensor out = grad ? at::empty({N, H, W, C}) : at::empty({N, Ho, Wo, C});
    if (grad)
      reflectPadBackward(in, N, H, W, C, p[0], p[1], p[2], p[3], out.data_ptr<float>());
    else
      reflectPadForward(in, N, H, W, C, p[0], p[1], p[2], p[3], out.data_ptr<float>());
    CallCtx ctx;
    return fromTensor(env, out, nullptr, ctx);
  });
}

// Global average pooling of an NHWC map and its gradient, one pass each. ATen's mean over H and W and the gradient's
// broadcast copy (expand, then contiguous) run as parallel TensorIterator loops whose threads must first be woken:
// 140 and 310 us for 64x7x7x64 on 2 threads. Here maps under 1M values take one thread (no wake-up). Each image's
// sums run over its pixels in order, each channel in its own float (a fixed order: results do not depend on threads).
#pragma GCC push_options
#pragma GCC optimize("O3")
void spatialMeanForward(const float* x, int64_t N, int64_t HW, int64_t C, float* y) {
  at::parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 20) / (HW * C)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++) {
      float* out = y + n * C;
      for (int64_t c = 0; c < C; c++) out[c] = 0.0f;
      for (int64_t p = 0; p < HW; p++) {
        const float* row = x + (n * HW + p) * C;
        for (int64_t c = 0; c < C; c++) out[c] += row[c];
      }
      const float inv = 1.0f / static_cast<float>(HW);
      for (int64_t c = 0; c < C; c++) out[c] *= inv;
    }
  });
}
void spatialMeanBackward(const float* dy, int64_t N, int64_t HW, int64_t C, float* dx) {
  const float inv = 1.0f / static_cast<float>(HW);
  at::parallel_for(0, N, std::max<int64_t>(1, (int64_t(1) << 20) / (HW * C)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++) {
      for (int64_t p = 0; p < HW; p++) {
        float* row = dx + (n * HW + p) * C;
        for (int64_t c = 0; c < C; c++) row[c] = dy[n * C + c] * inv;
      }
    }
  });
}
#pragma GCC pop_options

// spatialMean(values, shape [N,H,W,C], grad) -> [values, shape]: with grad false, values is x and the result the
// mean over H and W, [N,C]; with grad true, values is dy [N,C] and the result dx [N,H,W,C] (dy / (H*W) everywhere).
napi_value SpatialMean(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 3;
    napi_value argv[3];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 3) throw JsError("spatialMean(values, shape, grad) needs three arguments");
    const auto xs = intList(env, argv[1], "shape", 4);
    const bool grad = getNumber(env, argv[2], "grad") != 0;
    const int64_t N = xs[0], HW = xs[1] * xs[2], C = xs[3];
    if (N < 1 || HW < 1 || C < 1) throw JsError("spatialMean: the shape must have no empty axis");
    const float* in = floatArg(env, argv[0], static_cast<size_t>(grad ? N * C : N * HW * C), "spatialMean", grad ? "dy" : "x", false);
    c10::InferenceMode guard;
    at::Tensor out = grad ? at::empty({N, xs[1], xs[2], C}) : at::empty({N, C});
    if (grad)
      spatialMeanBackward(in, N, HW, C, out.data_ptr<float>());
    else
      spatialMeanForward(in, N, HW, C, out.data_ptr<float>());
    CallCtx ctx;
    return fromTensor(env, out, nullptr, ctx);
  });
}

// 2x2 max pooling at stride 2 ('valid') of an NHWC map; for training with the argmax (0-3: row-major in the window)
// kept as int32 for the gradient; ATen's max_pool2d_with_indices keeps int64 indices and its backward scatters
// through them. Ties and NaN as ATen: the first maximum in scan order wins, NaN counts as the maximum. Written as
// selects over the channels and compiled at O3, so the loops vectorise (branches on random data mispredict).
#pragma GCC push_options
#pragma GCC optimize("O3")
// The argmax is a template parameter (idx unused without it), so that the inference loop (maxima only) has no
// per-element test or store of it.
template <bool kArgmax>
void maxPool2x2Forward(const float* x, int64_t N, int64_t H, int64_t W, int64_t C, float* y, int32_t* idx) {
  const int64_t Ho = H / 2, Wo = W / 2;
  at::parallel_for(0, N * Ho, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t n = r / Ho, i = r % Ho;
      const float* row0 = x + ((n * H + 2 * i) * W) * C;
      const float* row1 = row0 + W * C;
      for (int64_t j = 0; j < Wo; j++) {
        const float* p0 = row0 + 2 * j * C;
        const float* p1 = p0 + C;
        const float* p2 = row1 + 2 * j * C;
        const float* p3 = p2 + C;
        const int64_t o = (r * Wo + j) * C;
        for (int64_t c = 0; c < C; c++) {
          float m = p0[c];
          int32_t k = 0;
          const float v1 = p1[c], v2 = p2[c], v3 = p3[c];
          const bool g1 = v1 > m || v1 != v1;
          m = g1 ? v1 : m;
          k = g1 ? 1 : k;
          const bool g2 = v2 > m || v2 != v2;
          m = g2 ? v2 : m;
          k = g2 ? 2 : k;
          const bool g3 = v3 > m || v3 != v3;
          m = g3 ? v3 : m;
          k = g3 ? 3 : k;
          y[o + c] = m;
          if constexpr (kArgmax) idx[o + c] = k;
        }
      }
    }
  });
}

// dx: each output's gradient at its argmax, 0 elsewhere (windows do not overlap); with `y` (a relu output pooled),
// the relu's gradient mask too: nothing where the pooled value is <= 0.
void maxPool2x2Backward(const float* dy, const int32_t* idx, const float* y, int64_t N, int64_t H, int64_t W, int64_t C,
                        float* dx) {
  const int64_t Ho = H / 2, Wo = W / 2;
  at::parallel_for(0, N * H, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t n = r / H, row = r % H, i = row / 2;
      float* out = dx + r * W * C;
      if (i >= Ho) {  // the odd last row is outside every window
        std::memset(out, 0, W * C * sizeof(float));
        continue;
      }
      if (W % 2) std::memset(out + (W - 1) * C, 0, C * sizeof(float));  // and so is the odd last column
      const int32_t left = static_cast<int32_t>(row % 2) * 2;  // the argmax of this row's left pixel
      for (int64_t j = 0; j < Wo; j++) {
        const int64_t o = ((n * Ho + i) * Wo + j) * C;
        const int32_t* a = idx + o;
        const float* d = dy + o;
        float* l = out + 2 * j * C;
        float* rt = l + C;
        if (y != nullptr) {
          const float* yy = y + o;
          for (int64_t c = 0; c < C; c++) {
            const float dv = d[c], yv = yy[c];  // loaded unconditionally, so that the selects vectorise
            const int32_t av = a[c];
            const bool live = yv > 0.0f;
            l[c] = ((av == left) & live) ? dv : 0.0f;
            rt[c] = ((av == left + 1) & live) ? dv : 0.0f;
          }
        } else {
          for (int64_t c = 0; c < C; c++) {
            const float dv = d[c];
            const int32_t av = a[c];
            l[c] = av == left ? dv : 0.0f;
            rt[c] = av == left + 1 ? dv : 0.0f;
          }
        }
      }
    }
  });
}
#pragma GCC pop_options

// maxPool2x2(x, xShape [N,H,W,C], argmax = true) -> [[y], [idx int32]] (both [N,H/2,W/2,C], rounded down); with
// argmax false (inference) -> [y, shape], the maxima only.
napi_value MaxPool2x2(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 3;
    napi_value argv[3];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 2) throw JsError("maxPool2x2(x, xShape) needs two arguments");
    const auto xs = intList(env, argv[1], "xShape", 4);
    const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3];
    if (H < 2 || W < 2) throw JsError("maxPool2x2: the map must be at least 2x2");
    const float* x = floatArg(env, argv[0], static_cast<size_t>(N * H * W * C), "maxPool2x2", "x", false);
    bool argmax = true;
    if (argc >= 3) NAPI_OK(napi_get_value_bool(env, argv[2], &argmax));
    c10::InferenceMode guard;
    at::Tensor y = at::empty({N, H / 2, W / 2, C});
    if (!argmax) {
      maxPool2x2Forward<false>(x, N, H, W, C, y.data_ptr<float>(), nullptr);
      CallCtx ctx;
      return fromTensor(env, y, nullptr, ctx);
    }
    at::Tensor idx = at::empty({N, H / 2, W / 2, C}, at::kInt);
    maxPool2x2Forward<true>(x, N, H, W, C, y.data_ptr<float>(), idx.data_ptr<int32_t>());
    return tensorList(env, {y, idx});
  });
}

// maxPool2x2Grad(dy, idx, xShape, y | null) -> [dx, xShape].
napi_value MaxPool2x2Grad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 4;
    napi_value argv[4];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 4) throw JsError("maxPool2x2Grad(dy, idx, xShape, y) needs four arguments");
    const auto xs = intList(env, argv[2], "xShape", 4);
    const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3];
    const size_t outs = static_cast<size_t>(N * (H / 2) * (W / 2) * C);
    const float* dy = floatArg(env, argv[0], outs, "maxPool2x2Grad", "dy", false);
    const float* y = floatArg(env, argv[3], outs, "maxPool2x2Grad", "y", true);
    bool isTa = false;
    napi_typedarray_type tt = napi_int8_array;
    size_t n = 0;
    void* ip = nullptr;
    NAPI_OK(napi_is_typedarray(env, argv[1], &isTa));
    if (isTa) NAPI_OK(napi_get_typedarray_info(env, argv[1], &tt, &n, &ip, nullptr, nullptr));
    if (!isTa || tt != napi_int32_array || n != outs) throw JsError("maxPool2x2Grad: idx must be maxPool2x2's Int32Array");
    c10::InferenceMode guard;
    at::Tensor dx = at::empty({N, H, W, C});
    maxPool2x2Backward(dy, static_cast<const int32_t*>(ip), y, N, H, W, C, dx.data_ptr<float>());
    CallCtx ctx;
    return fromTensor(env, dx, nullptr, ctx);
  });
}

// Direct convolution for single-channel maps (a grayscale net's first layer), stride 1, with bias, relu and an
// optional 2x2 stride-2 max pool fused. oneDNN's kernels are built for wide inputs: the reference net's first conv
// (28x28x1 -> 32 at batch 64, 2 threads) took 1.04 ms through ATen (~14 GFLOP/s) and wrote a 6.4 MB map that the pool
// then read again; here conv + relu takes 0.44 ms and conv + relu + pool 0.48. (With 3 input channels oneDNN is as
// fast or faster: 64x64x3 -> 32, 2.85 against 3.16 ms; so only C = 1 comes here.) Each output pixel's channels are
// accumulated in order (bias, then taps row by row, column by column, channel by channel), vectorised across output
// channels, interior pixels in register blocks; with the pool, two conv rows at a time stay in a small buffer and only
// the pooled map is written. Compiled for AVX-512, AVX2 + FMA and plain x86-64, picked at load (target_clones).
constexpr int64_t kSmallConvMaxC = 1;
constexpr int64_t kSmallConvMaxCo = 256;
#pragma GCC push_options
#pragma GCC optimize("O3")
// Output pixels [j0, j1) of row i, each by itself, with bounds checks (borders, and output channel counts without a
// specialisation).
template <int64_t kCo>
static inline __attribute__((always_inline)) void smallConvPixels(const float* x, int64_t H, int64_t W, int64_t C, const float* w,
                                                                 int64_t kh, int64_t kw, int64_t coRun, const float* bias, int64_t pt,
                                                                 int64_t pl, int64_t i, int64_t j0, int64_t j1, float* dst) {
  const int64_t co = kCo > 0 ? kCo : coRun;
  float acc[kCo > 0 ? kCo : kSmallConvMaxCo];
  for (int64_t j = j0; j < j1; j++) {
    for (int64_t c = 0; c < co; c++) acc[c] = bias[c];
    for (int64_t a = 0; a < kh; a++) {
      const int64_t r = i + a - pt;
      if (r < 0 || r >= H) continue;
      for (int64_t b = 0; b < kw; b++) {
        const int64_t q = j + b - pl;
        if (q < 0 || q >= W) continue;
        const float* xp = x + (r * W + q) * C;
        const float* wp = w + (a * kw + b) * C * co;
        for (int64_t ci = 0; ci < C; ci++) {
          const float v = xp[ci];
          const float* wc = wp + ci * co;
          for (int64_t c = 0; c < co; c++) acc[c] += v * wc[c];
        }
      }
    }
    float* o = dst + j * co;
    for (int64_t c = 0; c < co; c++) o[c] = acc[c];
  }
}
// kJ adjacent output pixels whose taps read columns inside x, from (row r0, column q0) of x on, over the filter rows
// [a0, a1) that read rows inside x: no bounds checks, and each weight vector loaded once for the kJ pixels, whose
// kJ x kCo sums stay in registers. The same order of terms as smallConvPixels.
template <int64_t kCo, int64_t kJ>
static inline __attribute__((always_inline)) void smallConvBlock(const float* x, int64_t W, int64_t C, const float* w, int64_t a0,
                                                                int64_t a1, int64_t kw, const float* bias, int64_t r0, int64_t q0,
                                                                float* dst) {
  float acc[kJ][kCo];
  for (int64_t p = 0; p < kJ; p++)
    for (int64_t c = 0; c < kCo; c++) acc[p][c] = bias[c];
  for (int64_t a = a0; a < a1; a++)
    for (int64_t b = 0; b < kw; b++) {
      const float* xp = x + ((r0 + a) * W + q0 + b) * C;
      const float* wp = w + (a * kw + b) * C * kCo;
      for (int64_t ci = 0; ci < C; ci++)
        for (int64_t p = 0; p < kJ; p++) {
          const float v = xp[p * C + ci];
          for (int64_t c = 0; c < kCo; c++) acc[p][c] += v * wp[ci * kCo + c];
        }
    }
  for (int64_t p = 0; p < kJ; p++)
    for (int64_t c = 0; c < kCo; c++) dst[p * kCo + c] = acc[p][c];
}
template <int64_t kCo, int64_t kJ>
static inline __attribute__((always_inline)) void smallConvRow(const float* x, int64_t H, int64_t W, int64_t C, const float* w, int64_t kh,
                                                              int64_t kw, const float* bias, int64_t pt, int64_t pl, int64_t i, int64_t Wo,
                                                              float* dst) {
  // Filter rows inside x, and the output columns whose taps all read columns inside x (between the borders).
  const int64_t a0 = std::max<int64_t>(0, pt - i), a1 = std::min(kh, H - i + pt);
  const int64_t lo = std::min(pl, Wo), hi = std::max(lo, std::min(W - kw + pl + 1, Wo));
  smallConvPixels<kCo>(x, H, W, C, w, kh, kw, kCo, bias, pt, pl, i, 0, lo, dst);
  int64_t j = lo;
  if (a1 > a0) {
    for (; j + kJ <= hi; j += kJ)
      smallConvBlock<kCo, kJ>(x, W, C, w, a0, a1, kw, bias, i - pt, j - pl, dst + j * kCo);
    for (; j < hi; j++) smallConvBlock<kCo, 1>(x, W, C, w, a0, a1, kw, bias, i - pt, j - pl, dst + j * kCo);
  }
  smallConvPixels<kCo>(x, H, W, C, w, kh, kw, kCo, bias, pt, pl, i, j, Wo, dst);
}
// One conv output row (no relu, no pool): blocked for the output channel counts the nets use, else pixel by pixel.
__attribute__((target_clones("avx512f", "arch=haswell", "default"))) void smallConvRowAny(
    const float* x, int64_t H, int64_t W, int64_t C, const float* w, int64_t kh, int64_t kw, int64_t co, const float* bias, int64_t pt,
    int64_t pl, int64_t i, int64_t Wo, float* dst) {
  if (co == 16) return smallConvRow<16, 8>(x, H, W, C, w, kh, kw, bias, pt, pl, i, Wo, dst);
  if (co == 32) return smallConvRow<32, 8>(x, H, W, C, w, kh, kw, bias, pt, pl, i, Wo, dst);
  if (co == 64) return smallConvRow<64, 4>(x, H, W, C, w, kh, kw, bias, pt, pl, i, Wo, dst);
  smallConvPixels<0>(x, H, W, C, w, kh, kw, co, bias, pt, pl, i, 0, Wo, dst);
}
// y = [pool2x2](relu?(conv(x) + bias)) for x [N,H,W,C] (C <= kSmallConvMaxC), w HWIO [kh,kw,C,co], stride 1, pads
// [top,bottom,left,right]; y is [N,Ho,Wo,co] or, pooled, [N,Ho/2,Wo/2,co]: maxPool2x2Forward on each pair of conv
// rows, so only the pooled map is written; the relu after the pool (relu and max commute).
void smallConv(const float* x, int64_t N, int64_t H, int64_t W, int64_t C, const float* w, int64_t kh, int64_t kw, int64_t co,
               const float* bias, const std::vector<int64_t>& pd, bool relu, bool pool, float* y) {
  const int64_t Ho = H + pd[0] + pd[1] - kh + 1, Wo = W + pd[2] + pd[3] - kw + 1;
  const int64_t rows = pool ? Ho / 2 : Ho, cols = pool ? Wo / 2 : Wo;
  at::parallel_for(0, N * rows, 4, [&](int64_t r0, int64_t r1) {
    std::vector<float> pair(static_cast<size_t>(pool ? 2 * Wo * co : 0));  // two conv rows: a 2-row map to pool
    for (int64_t r = r0; r < r1; r++) {
      const int64_t n = r / rows, i = r % rows;
      const float* xn = x + n * H * W * C;
      float* out = y + r * cols * co;
      if (pool) {
        smallConvRowAny(xn, H, W, C, w, kh, kw, co, bias, pd[0], pd[2], 2 * i, Wo, pair.data());
        smallConvRowAny(xn, H, W, C, w, kh, kw, co, bias, pd[0], pd[2], 2 * i + 1, Wo, pair.data() + Wo * co);
        maxPool2x2Forward<false>(pair.data(), 1, 2, Wo, co, out, nullptr);
      } else {
        smallConvRowAny(xn, H, W, C, w, kh, kw, co, bias, pd[0], pd[2], i, Wo, out);
      }
      if (relu)
        for (int64_t k = 0; k < cols * co; k++) out[k] = out[k] > 0.0f || out[k] != out[k] ? out[k] : 0.0f;
    }
  });
}
#pragma GCC pop_options

// The geometry of a conv call, checked (fn names the caller in errors): x [N,H,W,C], w HWIO [kh,kw,C,co], strides
// (nullptr: 1, 1), pads [top,bottom,left,right], and the output's Ho, Wo.
struct ConvGeometry {
  int64_t N, H, W, C, kh, kw, co, Ho, Wo;
  std::vector<int64_t> st, pd;
  ConvGeometry(napi_env env, napi_value xShape, napi_value wShape, napi_value strides, napi_value pads, const char* fn) {
    const auto xs = intList(env, xShape, "xShape", 4);
    const auto ws = intList(env, wShape, "wShape", 4);
    st = strides == nullptr ? std::vector<int64_t>{1, 1} : intList(env, strides, "strides", 2);
    pd = intList(env, pads, "pads", 4);
    N = xs[0], H = xs[1], W = xs[2], C = xs[3], kh = ws[0], kw = ws[1], co = ws[3];
    if (ws[2] != C) throw JsError(std::string(fn) + ": the filter takes " + std::to_string(ws[2]) + " channels, x has " + std::to_string(C));
    Ho = (H + pd[0] + pd[1] - kh) / st[0] + 1, Wo = (W + pd[2] + pd[3] - kw) / st[1] + 1;
    if (Ho < 1 || Wo < 1) throw JsError(std::string(fn) + ": the filter is larger than the padded input");
  }
};

// smallConv(x, xShape [N,H,W,C], w HWIO, wShape [kh,kw,C,co], bias | null, pads [top,bottom,left,right], relu, pool2x2)
//   -> [values, shape]: stride 1, C = 1 (smallConvFits), see smallConv.
bool smallConvFits(int64_t C, int64_t co) { return C >= 1 && C <= kSmallConvMaxC && co >= 1 && co <= kSmallConvMaxCo; }
napi_value SmallConv(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 8;
    napi_value argv[8];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 8) throw JsError("smallConv(x, xShape, w, wShape, bias, pads, relu, pool2x2) needs eight arguments");
    const char* fn = "smallConv";
    const ConvGeometry g(env, argv[1], argv[3], nullptr, argv[5], fn);
    const auto& [N, H, W, C, kh, kw, co, Ho, Wo, st, pd] = g;
    if (!smallConvFits(C, co))
      throw JsError("smallConv: takes 1-" + std::to_string(kSmallConvMaxC) + " input and 1-" + std::to_string(kSmallConvMaxCo) +
                    " output channels, got " + std::to_string(C) + " and " + std::to_string(co));
    const bool relu = getNumber(env, argv[6], "relu") != 0, pool = getNumber(env, argv[7], "pool2x2") != 0;
    if (N < 1 || Ho < (pool ? 2 : 1) || Wo < (pool ? 2 : 1) || *std::min_element(pd.begin(), pd.end()) < 0)
      throw JsError("smallConv: the padded input is smaller than the filter" + std::string(pool ? " (or its output than the pool)" : ""));
    const float* x = floatArg(env, argv[0], static_cast<size_t>(N * H * W * C), fn, "x", false);
    const float* w = floatArg(env, argv[2], static_cast<size_t>(kh * kw * C * co), fn, "w", false);
    const float* bias = floatArg(env, argv[4], static_cast<size_t>(co), fn, "bias", true);
    std::vector<float> zeros;
    if (bias == nullptr) zeros.assign(static_cast<size_t>(co), 0.0f);
    c10::InferenceMode guard;
    at::Tensor out = pool ? at::empty({N, Ho / 2, Wo / 2, co}) : at::empty({N, Ho, Wo, co});
    smallConv(x, N, H, W, C, w, kh, kw, co, bias ? bias : zeros.data(), pd, relu, pool, out.data_ptr<float>());
    CallCtx ctx;
    return fromTensor(env, out, nullptr, ctx);
  });
}

#ifdef TFJS_TORCH_DNNL
// Inference convs through oneDNN directly (the library ATen's own convs run on): conv + bias with a ReLU and a residual
// sum as post-ops, which ATen 1.13 cannot express on the CPU (it writes the conv output, then adds and applies relu in
// further passes). Weights arrive as tfjs's HWIO filter; oneDNN's reordered copy (with the bias) is kept under a key
// the caller derives from the weights' identity, so a model's folded weights are computed and reordered once.
struct DnnlWeights {
  dnnl::memory weights;  // in the primitive's preferred layout
  dnnl::memory bias;
  size_t bytes = 0;
  std::vector<float> hwio, biasHwio;  // instead, for smallConv (single-channel convs)
};
struct DnnlState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::unordered_map<std::string, std::pair<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>> prims;
  std::unordered_map<std::string, DnnlWeights> weights;
  std::list<std::string> order;  // weights keys, most recently used first
  size_t bytes = 0;
  static constexpr size_t kCap = size_t(256) << 20;  // reordered weights kept at most
};
DnnlState* g_dnnl = nullptr;

// dnnlHas(key) -> whether reordered weights are kept under key.
napi_value DnnlHas(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    bool has = g_dnnl != nullptr && g_dnnl->weights.count(getString(env, argv[0])) > 0;
    napi_value out;
    NAPI_OK(napi_get_boolean(env, has, &out));
    return out;
  });
}

// dnnlConv(x, xShape [N,H,W,C], wKey, w HWIO | null, wShape [kh,kw,ci,co], bias | null, strides [sh,sw],
//          pads [top,bottom,left,right], relu, sum | null, pool2x2?) -> [values, [N,Ho,Wo,co]]
//   w null: the weights (and bias) kept under wKey are used (dnnlHas said so). sum: [values, shape [N,Ho,Wo,co],
//   element strides (NHWC order)] of a map (a view: e.g. a residual crop) added to the conv's output before the relu.
//   pool2x2: the result is max-pooled 2x2 at stride 2 ('valid'; [N,Ho/2,Wo/2,co]), as maxPool2x2 without argmax.
//   Single-channel convs at stride 1 without a summand run as smallConv instead of a oneDNN primitive.
napi_value DnnlConv(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 11;
    napi_value argv[11];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 10) throw JsError("dnnlConv(x, xShape, wKey, w, wShape, bias, strides, pads, relu, sum, pool2x2?) needs ten arguments");
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const ConvGeometry g(env, argv[1], argv[4], argv[6], argv[7], "dnnlConv");
    const auto& [N, H, W, C, kh, kw, co, Ho, Wo, st, pd] = g;
    const float* x = floatArg(env, argv[0], static_cast<size_t>(N * H * W * C), "dnnlConv", "x", false);
    const std::string wKey = getString(env, argv[2]);
    const float* w = floatArg(env, argv[3], static_cast<size_t>(kh * kw * C * co), "dnnlConv", "w", true);
    const float* bias = floatArg(env, argv[5], static_cast<size_t>(co), "dnnlConv", "bias", true);
    const bool relu = getNumber(env, argv[8], "relu") != 0;
    const bool sum = !isNullish(env, argv[9]);
    const bool pool = argc > 10 && !isNullish(env, argv[10]) && getNumber(env, argv[10], "pool2x2") != 0;
    if (pool && (Ho < 2 || Wo < 2)) throw JsError("dnnlConv: a 2x2 pool needs an output of at least 2x2");
    if (g_dnnl == nullptr) g_dnnl = new DnnlState();
    DnnlState& d = *g_dnnl;
    if (smallConvFits(C, co) && st[0] == 1 && st[1] == 1 && !sum) {
      // HWIO weights and the bias, kept under wKey as they came (no oneDNN layout).
      auto wit = wKey.empty() ? d.weights.end() : d.weights.find(wKey);
      DnnlWeights passed;
      const DnnlWeights* used = wit != d.weights.end() && !wit->second.hwio.empty() ? &wit->second : nullptr;
      if (used == nullptr) {
        if (w == nullptr) throw JsError("dnnlConv: no weights are kept under " + wKey + "; pass them");
        passed.hwio.assign(w, w + kh * kw * C * co);
        passed.biasHwio.assign(static_cast<size_t>(co), 0.0f);
        if (bias) std::copy(bias, bias + co, passed.biasHwio.begin());
        passed.bytes = (passed.hwio.size() + passed.biasHwio.size()) * sizeof(float);
        if (!wKey.empty()) {
          if (wit != d.weights.end()) {
            d.bytes -= wit->second.bytes;
            d.weights.erase(wit);
            d.order.remove(wKey);
          }
          d.weights.emplace(wKey, passed);
          d.order.push_front(wKey);
          d.bytes += passed.bytes;
        }
        used = &passed;
      } else if (d.order.front() != wKey) {
        d.order.remove(wKey);
        d.order.push_front(wKey);
      }
      c10::InferenceMode guard;
      at::Tensor out = pool ? at::empty({N, Ho / 2, Wo / 2, co}) : at::empty({N, Ho, Wo, co});
      smallConv(x, N, H, W, C, used->hwio.data(), kh, kw, co, used->biasHwio.data(), pd, relu, pool, out.data_ptr<float>());
      CallCtx ctx;
      return fromTensor(env, out, nullptr, ctx);
    }
    // The primitive for these shapes and post-ops (oneDNN picks the weights layout: format any).
    std::string pkey = std::to_string(N) + "," + std::to_string(H) + "," + std::to_string(W) + "," + std::to_string(C) + "|" +
                       std::to_string(kh) + "," + std::to_string(kw) + "," + std::to_string(co) + "|" + std::to_string(st[0]) +
                       "," + std::to_string(st[1]) + "|" + std::to_string(pd[0]) + "," + std::to_string(pd[1]) + "," +
                       std::to_string(pd[2]) + "," + std::to_string(pd[3]) + "|" + (relu ? "r" : "") + (sum ? "s" : "");
    auto it = d.prims.find(pkey);
    if (it == d.prims.end()) {
      dnnl::memory::desc src({N, C, H, W}, dt::f32, tag::nhwc);
      dnnl::memory::desc wts({co, C, kh, kw}, dt::f32, tag::any);
      dnnl::memory::desc b({co}, dt::f32, tag::x);
      dnnl::memory::desc dst({N, co, Ho, Wo}, dt::f32, tag::nhwc);
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wts, b, dst,
                                           {st[0], st[1]}, {pd[0], pd[2]}, {pd[1], pd[3]});
      dnnl::post_ops po;
      if (sum) po.append_sum(1.0f);
      if (relu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(po);
      dnnl::convolution_forward::primitive_desc pdesc(desc, attr, d.engine);
      it = d.prims.emplace(pkey, std::make_pair(pdesc, dnnl::convolution_forward(pdesc))).first;
    }
    auto& pdesc = it->second.first;
    // The reordered weights kept under wKey (none for the key ''); another batch size may want another layout:
    // reordered from the kept copy.
    DnnlWeights used;
    auto wit = wKey.empty() ? d.weights.end() : d.weights.find(wKey);
    if (wit != d.weights.end()) {
      if (wit->second.weights.get_desc() != pdesc.weights_desc()) {
        dnnl::memory relaid(pdesc.weights_desc(), d.engine);
        dnnl::reorder(wit->second.weights, relaid).execute(d.stream, wit->second.weights, relaid);
        d.bytes += pdesc.weights_desc().get_size() - wit->second.weights.get_desc().get_size();
        wit->second.bytes = pdesc.weights_desc().get_size() + static_cast<size_t>(co) * 4;
        wit->second.weights = relaid;
      }
      if (d.order.front() != wKey) {
        d.order.remove(wKey);
        d.order.push_front(wKey);
      }
      used = wit->second;
    } else {
      if (w == nullptr) throw JsError("dnnlConv: no weights are kept under " + wKey + "; pass them");
      dnnl::memory src_w({{co, C, kh, kw}, dt::f32, tag::hwio}, d.engine, const_cast<float*>(w));
      dnnl::memory packed(pdesc.weights_desc(), d.engine);
      dnnl::reorder(src_w, packed).execute(d.stream, src_w, packed);
      dnnl::memory b(pdesc.bias_desc(), d.engine);
      float* bp = static_cast<float*>(b.get_data_handle());
      for (int64_t c = 0; c < co; c++) bp[c] = bias ? bias[c] : 0.0f;
      used = DnnlWeights{packed, b, pdesc.weights_desc().get_size() + static_cast<size_t>(co) * 4};
      if (!wKey.empty()) {
        while (d.bytes + used.bytes > DnnlState::kCap && !d.order.empty()) {  // evict the least recently used
          auto& old = d.order.back();
          d.bytes -= d.weights.at(old).bytes;
          d.weights.erase(old);
          d.order.pop_back();
        }
        d.weights.emplace(wKey, used);
        d.order.push_front(wKey);
        d.bytes += used.bytes;
      }
    }
    c10::InferenceMode guard;
    at::Tensor out = at::empty({N, Ho, Wo, co});
    if (sum) {  // the summand is the output's initial value
      napi_value sv = argv[9];
      const auto sShape = intList(env, element(env, sv, 1), "sum shape", 4);
      const auto sStrides = intList(env, element(env, sv, 2), "sum strides", 4);
      if (sShape != std::vector<int64_t>{N, Ho, Wo, co}) throw JsError("dnnlConv: the summand's shape is not the output's");
      int64_t span = 1;
      for (int i = 0; i < 4; i++) span += (sShape[i] - 1) * sStrides[i];
      size_t have = 0;
      const float* sp = floatArray(env, element(env, sv, 0), &have, "dnnlConv", "the summand");
      if (static_cast<int64_t>(have) < span) throw JsError("dnnlConv: the summand's view reaches past its buffer");
      out.copy_(at::from_blob(const_cast<float*>(sp), sShape, sStrides));
    }
    dnnl::memory src({{N, C, H, W}, dt::f32, tag::nhwc}, d.engine, const_cast<float*>(x));
    dnnl::memory dst({{N, co, Ho, Wo}, dt::f32, tag::nhwc}, d.engine, out.data_ptr<float>());
    it->second.second.execute(d.stream, {{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_WEIGHTS, used.weights},
                                         {DNNL_ARG_BIAS, used.bias},
                                         {DNNL_ARG_DST, dst}});
    d.stream.wait();
    if (pool) {
      at::Tensor pooled = at::empty({N, Ho / 2, Wo / 2, co});
      maxPool2x2Forward<false>(out.data_ptr<float>(), N, Ho, Wo, co, pooled.data_ptr<float>(), nullptr);
      out = pooled;
    }
    CallCtx ctx;
    return fromTensor(env, out, nullptr, ctx);
  });
}

// The geometry shared by the two gradients below: x [N,H,W,C], w [kh,kw,C,co], strides, pads [top,bottom,left,right]
// (any, e.g. tfjs's 'same' with one row and column after only, which ATen cannot express), and dy [N,Ho,Wo,co].
struct DnnlConvGeometry : ConvGeometry {
  std::string key;
  DnnlConvGeometry(napi_env env, napi_value xShape, napi_value wShape, napi_value strides, napi_value pads, napi_value dyShape,
                   const char* fn)
      : ConvGeometry(env, xShape, wShape, strides, pads, fn) {
    if (intList(env, dyShape, "dyShape", 4) != std::vector<int64_t>{N, Ho, Wo, co})
      throw JsError(std::string(fn) + ": dy's shape is not the conv's output shape [" + std::to_string(N) + "," + std::to_string(Ho) + "," +
                    std::to_string(Wo) + "," + std::to_string(co) + "]");
    for (auto v : {N, H, W, C, kh, kw, C, co, st[0], st[1], pd[0], pd[1], pd[2], pd[3]}) key += std::to_string(v) + ",";
  }
  dnnl::memory::desc src(dnnl::memory::format_tag t = dnnl::memory::format_tag::nhwc) const {
    return {{N, C, H, W}, dnnl::memory::data_type::f32, t};
  }
  dnnl::memory::desc weights(dnnl::memory::format_tag t = dnnl::memory::format_tag::any) const {
    return {{co, C, kh, kw}, dnnl::memory::data_type::f32, t};
  }
  dnnl::memory::desc dst() const { return {{N, co, Ho, Wo}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc}; }
  // The forward the gradients are of (oneDNN picks their kernels from it).
  dnnl::convolution_forward::primitive_desc forward(const dnnl::engine& engine, bool bias) const {
    dnnl::memory::desc b({co}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
    auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src(), weights(),
                                                    b, dst(), {st[0], st[1]}, {pd[0], pd[2]}, {pd[1], pd[3]})
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src(), weights(),
                                                    dst(), {st[0], st[1]}, {pd[0], pd[2]}, {pd[1], pd[3]});
    return {d, engine};
  }
};
std::unordered_map<std::string, std::pair<dnnl::convolution_backward_data::primitive_desc, dnnl::convolution_backward_data>> g_dnnl_bwd_data;
std::unordered_map<std::string, std::pair<dnnl::convolution_backward_weights::primitive_desc, dnnl::convolution_backward_weights>>
    g_dnnl_bwd_weights;

// dnnlConvGradInput(dy, dyShape [N,Ho,Wo,co], w HWIO, wShape [kh,kw,C,co], xShape [N,H,W,C], strides [sh,sw],
//                   pads [top,bottom,left,right]) -> [dx values, [N,H,W,C]]: the conv's input gradient, one primitive.
napi_value DnnlConvGradInput(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 7;
    napi_value argv[7];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 7) throw JsError("dnnlConvGradInput(dy, dyShape, w, wShape, xShape, strides, pads) needs seven arguments");
    const char* fn = "dnnlConvGradInput";
    DnnlConvGeometry g(env, argv[4], argv[3], argv[5], argv[6], argv[1], fn);
    const float* dy = floatArg(env, argv[0], static_cast<size_t>(g.N * g.Ho * g.Wo * g.co), fn, "dy", false);
    const float* w = floatArg(env, argv[2], static_cast<size_t>(g.kh * g.kw * g.C * g.co), fn, "w", false);
    if (g_dnnl == nullptr) g_dnnl = new DnnlState();
    DnnlState& d = *g_dnnl;
    auto it = g_dnnl_bwd_data.find(g.key);
    if (it == g_dnnl_bwd_data.end()) {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.weights(), g.dst(), {g.st[0], g.st[1]},
                                                 {g.pd[0], g.pd[2]}, {g.pd[1], g.pd[3]});
      dnnl::convolution_backward_data::primitive_desc pdesc(desc, d.engine, g.forward(d.engine, false));
      it = g_dnnl_bwd_data.emplace(g.key, std::make_pair(pdesc, dnnl::convolution_backward_data(pdesc))).first;
    }
    auto& pdesc = it->second.first;
    dnnl::memory userW(g.weights(dnnl::memory::format_tag::hwio), d.engine, const_cast<float*>(w));
    dnnl::memory packed = userW;
    if (pdesc.weights_desc() != userW.get_desc()) {
      packed = dnnl::memory(pdesc.weights_desc(), d.engine);
      dnnl::reorder(userW, packed).execute(d.stream, userW, packed);
    }
    c10::InferenceMode guard;
    at::Tensor dx = at::empty({g.N, g.H, g.W, g.C});
    dnnl::memory dyMem(g.dst(), d.engine, const_cast<float*>(dy));
    dnnl::memory dxMem(g.src(), d.engine, dx.data_ptr<float>());
    it->second.second.execute(d.stream, {{DNNL_ARG_DIFF_DST, dyMem}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DIFF_SRC, dxMem}});
    d.stream.wait();
    CallCtx ctx;
    return fromTensor(env, dx, nullptr, ctx);
  });
}

// dnnlConvGradFilter(x, xShape [N,H,W,C], dy, dyShape [N,Ho,Wo,co], wShape [kh,kw,C,co], strides, pads, withBias)
//   -> [[dw values, wShape (HWIO)], [db values, [co]] | null]: the filter's (and the bias's) gradient, one primitive.
napi_value DnnlConvGradFilter(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 8;
    napi_value argv[8];
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < 8) throw JsError("dnnlConvGradFilter(x, xShape, dy, dyShape, wShape, strides, pads, withBias) needs eight arguments");
    const char* fn = "dnnlConvGradFilter";
    DnnlConvGeometry g(env, argv[1], argv[4], argv[5], argv[6], argv[3], fn);
    const float* x = floatArg(env, argv[0], static_cast<size_t>(g.N * g.H * g.W * g.C), fn, "x", false);
    const float* dy = floatArg(env, argv[2], static_cast<size_t>(g.N * g.Ho * g.Wo * g.co), fn, "dy", false);
    const bool withBias = getNumber(env, argv[7], "withBias") != 0;
    if (g_dnnl == nullptr) g_dnnl = new DnnlState();
    DnnlState& d = *g_dnnl;
    std::string key = g.key + (withBias ? "b" : "");
    auto it = g_dnnl_bwd_weights.find(key);
    if (it == g_dnnl_bwd_weights.end()) {
      dnnl::memory::desc b({g.co}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::x);
      auto desc = withBias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src(), g.weights(), b, g.dst(),
                                                                      {g.st[0], g.st[1]}, {g.pd[0], g.pd[2]}, {g.pd[1], g.pd[3]})
                           : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src(), g.weights(), g.dst(),
                                                                      {g.st[0], g.st[1]}, {g.pd[0], g.pd[2]}, {g.pd[1], g.pd[3]});
      dnnl::convolution_backward_weights::primitive_desc pdesc(desc, d.engine, g.forward(d.engine, withBias));
      it = g_dnnl_bwd_weights.emplace(key, std::make_pair(pdesc, dnnl::convolution_backward_weights(pdesc))).first;
    }
    auto& pdesc = it->second.first;
    c10::InferenceMode guard;
    at::Tensor dw = at::empty({g.kh, g.kw, g.C, g.co});
    at::Tensor db = withBias ? at::empty({g.co}) : at::Tensor();
    dnnl::memory userDw(g.weights(dnnl::memory::format_tag::hwio), d.engine, dw.data_ptr<float>());
    dnnl::memory packed = pdesc.diff_weights_desc() == userDw.get_desc() ? userDw : dnnl::memory(pdesc.diff_weights_desc(), d.engine);
    dnnl::memory xMem(g.src(), d.engine, const_cast<float*>(x));
    dnnl::memory dyMem(g.dst(), d.engine, const_cast<float*>(dy));
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, xMem}, {DNNL_ARG_DIFF_DST, dyMem}, {DNNL_ARG_DIFF_WEIGHTS, packed}};
    if (withBias) args.emplace(DNNL_ARG_DIFF_BIAS, dnnl::memory(pdesc.diff_bias_desc(), d.engine, db.data_ptr<float>()));
    it->second.second.execute(d.stream, args);
    if (packed != userDw) dnnl::reorder(packed, userDw).execute(d.stream, packed, userDw);
    d.stream.wait();
    return tensorList(env, {dw, db});
  });
}
#endif

void setProp(napi_env env, napi_value obj, const char* key, napi_value v) {
  NAPI_OK(napi_set_named_property(env, obj, key, v));
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value obj, v;
    NAPI_OK(napi_create_object(env, &obj));
    std::string ver = TORCH_VERSION;
    NAPI_OK(napi_create_string_utf8(env, ver.c_str(), ver.size(), &v));
    setProp(env, obj, "version", v);
    NAPI_OK(napi_get_boolean(env, at::hasMKLDNN(), &v));
    setProp(env, obj, "mkldnn", v);
    NAPI_OK(napi_get_boolean(env, at::hasCUDA(), &v));
    setProp(env, obj, "cuda", v);
#ifdef TFJS_TORCH_DNNL
    NAPI_OK(napi_get_boolean(env, true, &v));
#else
    NAPI_OK(napi_get_boolean(env, false, &v));
#endif
    setProp(env, obj, "dnnl", v);  // whether dnnlConv (fused inference convs through oneDNN) is built in
    std::string dev = g_device.str();
    NAPI_OK(napi_create_string_utf8(env, dev.c_str(), dev.size(), &v));
    setProp(env, obj, "device", v);
    std::string par = at::get_parallel_info();
    NAPI_OK(napi_create_string_utf8(env, par.c_str(), par.size(), &v));
    setProp(env, obj, "parallel", v);
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  if (g_allocator == nullptr) {
    g_allocator = new CachingCPUAllocator();  // never deleted: blocks may be freed until exit
    c10::SetCPUAllocator(g_allocator, /*priority=*/10);
  }
  if (g_blocksEnv == nullptr) {
    g_blocksEnv = env;
    // When that environment goes (a worker thread's), its buffers go with it: the blocks stay the allocator's.
    napi_add_env_cleanup_hook(
        env,
        [](void*) {
          g_blocks.clear();
          g_allocator->unexportAll();
          for (auto [p, size] : g_allocator->takePending()) munmap(p, size);
          g_blocksEnv = nullptr;
        },
        nullptr);
  }
  napi_property_descriptor props[] = {
      {"op", nullptr, Op, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"schema", nullptr, Schema, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"call", nullptr, Call, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setDevice", nullptr, SetDevice, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"free", nullptr, Free, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"liveCount", nullptr, LiveCount, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"memory", nullptr, Memory, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnRelu", nullptr, BnRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnReluGrad", nullptr, BnReluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reflectPad", nullptr, ReflectPad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"spatialMean", nullptr, SpatialMean, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"smallConv", nullptr, SmallConv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool2x2", nullptr, MaxPool2x2, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool2x2Grad", nullptr, MaxPool2x2Grad, nullptr, nullptr, nullptr, napi_default, nullptr},
#ifdef TFJS_TORCH_DNNL
      {"dnnlConv", nullptr, DnnlConv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dnnlHas", nullptr, DnnlHas, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dnnlConvGradInput", nullptr, DnnlConvGradInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dnnlConvGradFilter", nullptr, DnnlConvGradFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
#endif
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
