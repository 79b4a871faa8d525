// Batch norm whose batch statistics cover the rows of every rank of a process group (synchronised
// BN), with an exact backward pass: each rank's input gradient is the one a single process would
// compute for those rows of the whole global batch. The forward pass all-gathers per channel the
// row count, the sum and the sum of squared deviations from the local mean (combined exactly, as a
// parallel variance); the backward pass all-reduces per channel sum(dy) and sum(dy * (x - mean)).
// Scale and shift get this rank's share of their gradient; the gradient all-reduce sums the shares.
// The collective inside backward is a plain autograd node, so it runs in graph order, the same on
// every rank, beside the gradient reducer's all-reduces on the same group.
#include "c10d_group.h"
#ifndef MDPROP_NO_C10D
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/autograd/saved_variable.h>
#endif

namespace mdprop {
#ifdef MDPROP_NO_C10D
namespace {
Napi::Value Unavailable(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), "c10dSyncBatchNorm: this build of the addon has no c10d process groups");
}
}  // namespace

void InitSyncBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("c10dSyncBatchNorm", Napi::Function::New(env, Unavailable, "c10dSyncBatchNorm"));
}
#else
namespace {

using torch::autograd::variable_list;

/** The dtype statistics are accumulated in: double on the CPU (as libtorch's own batch norm), float on GPUs. */
at::ScalarType StatsType(const at::Tensor& x) {
  if (x.scalar_type() == at::kDouble) return at::kDouble;
  return x.is_cuda() ? at::kFloat : at::kDouble;
}

/** Per-channel view [1, C, 1, ...] of a [C] tensor, for broadcasting against [N, C, ...]. */
at::Tensor PerChannel(const at::Tensor& t, int64_t dims) {
  std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
  shape[1] = t.size(0);
  return t.view(shape);
}

/** Every dimension but the channels'. */
std::vector<int64_t> ReducedDims(const at::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); d++) dims.push_back(d);
  return dims;
}

struct SyncBatchNormBackward : public torch::autograd::Node {
  Group group;
  // Saved as autograd saves tensors: changed in place before the backward pass, they make it fail.
  torch::autograd::SavedVariable savedInput;  // [N, C, ...]
  torch::autograd::SavedVariable savedWeight;  // [C] or undefined
  at::Tensor mean;  // [C], statistics dtype
  at::Tensor invstd;  // [C], statistics dtype
  double globalCount = 0;

  std::string name() const override { return "SyncBatchNormBackward"; }

  variable_list apply(variable_list&& grads) override {
    const at::Tensor input = savedInput.unpack(shared_from_this());
    const at::Tensor weight = savedWeight.unpack(shared_from_this());
    const at::Tensor& dy = grads[0];
    const auto dims = ReducedDims(input);
    const auto stats = mean.scalar_type();
    const int64_t nd = input.dim();
    at::Tensor xmu = input - PerChannel(mean, nd).to(input.scalar_type());
    at::Tensor sumDy = dy.sum(dims, false, stats);
    at::Tensor sumDyXmu = (dy * xmu).sum(dims, false, stats);
    variable_list out(3);
    if (should_compute_output(0)) {
      // The global sums: every rank's rows take part in every row's gradient through the statistics.
      const int64_t c = mean.size(0);
      at::Tensor packed = at::cat({sumDy, sumDyXmu}).contiguous();
      std::vector<at::Tensor> tensors{packed};
      c10d::AllreduceOptions opts;
      opts.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM);
      opts.timeout = group.timeout;
      Finish(group.Run([&](auto& pg) { return pg->allreduce(tensors, opts); }), group);
      at::Tensor meanDy = packed.narrow(0, 0, c) / globalCount;
      at::Tensor meanDyXmu = packed.narrow(0, c, c) / globalCount;
      at::Tensor scale = weight.defined() ? invstd * weight.to(stats) : invstd;
      // dx = (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))) * invstd * weight
      at::Tensor projection = PerChannel(meanDyXmu * invstd * invstd, nd).to(input.scalar_type());
      out[0] = (dy - PerChannel(meanDy, nd).to(input.scalar_type()) - xmu * projection) * PerChannel(scale, nd).to(input.scalar_type());
    }
    if (should_compute_output(1)) out[1] = (sumDyXmu * invstd).to(weight.scalar_type());
    if (should_compute_output(2)) out[2] = sumDy.to(weight.scalar_type());
    return out;
  }

  void release_variables() override {
    savedInput.reset_data();
    savedWeight.reset_data();
  }
};

at::Tensor Optional(const Napi::Value& value, const char* what) {
  if (value.IsNull() || value.IsUndefined()) return at::Tensor();
  return TensorHandle::FromValue(value, what);
}

// c10dSyncBatchNorm(group, input, weight|null, bias|null, runningMean|null, runningVar|null, momentum, eps) -> output
Napi::Value SyncBatchNorm(const Napi::CallbackInfo& info) {
  Group* g = GroupOf(info[0], "syncBatchNorm");
  at::Tensor input = TensorHandle::FromValue(info[1], "syncBatchNorm input");
  at::Tensor weight = Optional(info[2], "syncBatchNorm weight");
  at::Tensor bias = Optional(info[3], "syncBatchNorm bias");
  at::Tensor runningMean = Optional(info[4], "syncBatchNorm runningMean");
  at::Tensor runningVar = Optional(info[5], "syncBatchNorm runningVar");
  const double momentum = info[6].As<Napi::Number>().DoubleValue();
  const double eps = info[7].As<Napi::Number>().DoubleValue();
  return Guarded(info.Env(), Where(*g, "sync batch norm of input " + ShapeString(input)), [&]() -> Napi::Value {
    if (input.dim() < 2) throw std::runtime_error("expected input [N, C, ...]");
    const int64_t c = input.size(1);
    for (const at::Tensor* t : {&weight, &bias, &runningMean, &runningVar}) {
      if (t->defined() && (t->dim() != 1 || t->size(0) != c)) throw std::runtime_error("per-channel tensors must be [" + std::to_string(c) + "], got " + ShapeString(*t));
    }
    const bool needsGrad = torch::autograd::GradMode::is_enabled() && torch::autograd::compute_requires_grad(input, weight, bias);
    at::Tensor output;
    auto node = std::shared_ptr<SyncBatchNormBackward>(new SyncBatchNormBackward(), torch::autograd::deleteNode);
    {
      at::NoGradGuard noGrad;
      const auto stats = StatsType(input);
      const auto dims = ReducedDims(input);
      const int64_t nd = input.dim();
      const double localCount = static_cast<double>(c == 0 ? 0 : input.numel() / c);
      at::Tensor x = input.detach();
      at::Tensor localSum = x.sum(dims, false, stats);
      at::Tensor localMean = localCount > 0 ? localSum / localCount : at::zeros_like(localSum);
      at::Tensor localM2 = (x - PerChannel(localMean, nd).to(x.scalar_type())).square().sum(dims, false, stats);
      at::Tensor packed = at::cat({at::full({1}, localCount, localSum.options()), localSum, localM2}).contiguous();
      at::Tensor all = at::stack(GatherFromRanks(*g, packed));  // [ranks, 1 + 2C]
      at::Tensor counts = all.narrow(1, 0, 1);
      at::Tensor sums = all.narrow(1, 1, c);
      at::Tensor m2s = all.narrow(1, 1 + c, c);
      const double total = counts.sum().item<double>();
      if (total < 2) throw std::runtime_error("batch norm needs more than one value per channel over all ranks, got " + std::to_string(static_cast<int64_t>(total)));
      // Parallel variance: the squared deviations around each rank's mean, moved to the global mean.
      at::Tensor mean = sums.sum(0) / total;
      at::Tensor rankMeans = sums / counts.clamp_min(1);
      at::Tensor m2 = m2s.sum(0) + (counts * (rankMeans - mean).square()).sum(0);
      at::Tensor var = m2 / total;
      at::Tensor invstd = (var + eps).rsqrt();
      at::Tensor alpha = weight.defined() ? invstd * weight.to(stats) : invstd;
      at::Tensor beta = bias.defined() ? bias.to(stats) - mean * alpha : -mean * alpha;
      output = x * PerChannel(alpha, nd).to(x.scalar_type()) + PerChannel(beta, nd).to(x.scalar_type());
      // Running statistics move by the unbiased variance, as a single process's batch norm does.
      if (runningMean.defined()) runningMean.mul_(1 - momentum).add_((mean * momentum).to(runningMean.scalar_type()));
      if (runningVar.defined()) runningVar.mul_(1 - momentum).add_((m2 / (total - 1) * momentum).to(runningVar.scalar_type()));
      if (needsGrad) {
        node->group = *g;
        node->savedInput = torch::autograd::SavedVariable(input, false);
        node->savedWeight = torch::autograd::SavedVariable(weight, false);
        node->mean = mean;
        node->invstd = invstd;
        node->globalCount = total;
      }
    }
    if (needsGrad) {
      node->set_next_edges(torch::autograd::collect_next_edges(input, weight, bias));
      torch::autograd::set_history(output, node);
    }
    return TensorHandle::Wrap(info.Env(), output);
  });
}

}  // namespace

void InitSyncBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("c10dSyncBatchNorm", Napi::Function::New(env, SyncBatchNorm, "c10dSyncBatchNorm"));
}
#endif  // MDPROP_NO_C10D

}  // namespace mdprop
