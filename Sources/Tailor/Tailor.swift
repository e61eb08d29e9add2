/// Tailor: fine-tune, evaluate and run pretrained language models in-process on a CPU.
///
/// `import Tailor` brings in every module: ``Tensor`` (tensors, autodiff, kernels), `Quant`
/// (quantized formats), `Model` (loaders, tokenizers, architectures), `PEFT` (adapters),
/// `Train` (datasets, trainer, metrics) and `Generate` (sampling and text generation).
@_exported import Tensor
@_exported import Quant
@_exported import Model
@_exported import PEFT
@_exported import Train
@_exported import Generate
