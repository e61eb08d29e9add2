import Dispatch
import Foundation

extension GGMLType {
    /// Decodes `count` values stored in this format in `bytes` into `output` as Float32.
    ///
    /// Results match the `gguf` Python package's `dequantize` bit for bit. Large inputs are split
    /// into runs of whole blocks decoded in parallel on all cores.
    /// - Throws: ``GGMLError`` when `count` is not a whole number of blocks or `bytes` is too short.
    public func dequantize(_ bytes: UnsafeRawBufferPointer, count: Int,
                           into output: UnsafeMutablePointer<Float>) throws {
        guard let needed = byteCount(forValues: count) else {
            throw GGMLError.countNotBlockMultiple(type: self, count: count)
        }
        guard bytes.count >= needed else {
            throw GGMLError.bufferTooSmall(type: self, needed: needed, available: bytes.count)
        }
        guard count > 0, let source = bytes.baseAddress else { return }

        let blocks = count / blockSize
        let workers = ProcessInfo.processInfo.activeProcessorCount
        let parallelThreshold = 1 << 16
        guard workers > 1, count >= parallelThreshold else {
            decodeBlocks(source, output, blocks: blocks)
            return
        }
        // A few chunks per core evens out uneven progress; each chunk is a whole number of blocks.
        let chunks = min(blocks, workers * 4)
        let blocksPerChunk = (blocks + chunks - 1) / chunks
        let job = ChunkJob(source: source, output: output, bytesPerBlock: bytesPerBlock, valuesPerBlock: blockSize)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let first = chunk * blocksPerChunk
            let n = min(blocksPerChunk, blocks - first)
            if n > 0 {
                decodeBlocks(job.source + first * job.bytesPerBlock, job.output + first * job.valuesPerBlock, blocks: n)
            }
        }
    }

    /// Decodes `blocks` consecutive blocks on the calling thread.
    func decodeBlocks(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        switch self {
        case .f32: FloatKernels.f32(src, dst, count: blocks)
        case .f16: FloatKernels.f16(src, dst, count: blocks)
        case .bf16: FloatKernels.bf16(src, dst, count: blocks)
        case .q4_0: LegacyBlockKernels.q4_0(src, dst, blocks: blocks)
        case .q4_1: LegacyBlockKernels.q4_1(src, dst, blocks: blocks)
        case .q5_0: LegacyBlockKernels.q5_0(src, dst, blocks: blocks)
        case .q5_1: LegacyBlockKernels.q5_1(src, dst, blocks: blocks)
        case .q8_0: LegacyBlockKernels.q8_0(src, dst, blocks: blocks)
        case .q4_K: KQuantKernels.q4_K(src, dst, blocks: blocks)
        case .q5_K: KQuantKernels.q5_K(src, dst, blocks: blocks)
        case .q6_K: KQuantKernels.q6_K(src, dst, blocks: blocks)
        }
    }
}

/// Pointers shared by the parallel chunks of one dequantize call. Each chunk reads its own
/// blocks and writes a disjoint range of the output, so sharing them across threads is safe.
private struct ChunkJob: @unchecked Sendable {
    let source: UnsafeRawPointer
    let output: UnsafeMutablePointer<Float>
    let bytesPerBlock: Int
    let valuesPerBlock: Int
}
