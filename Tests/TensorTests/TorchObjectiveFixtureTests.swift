import Foundation
import XCTest
import Tensor

/// The objective ops (KL distillation, EWC/L2-SP penalties, a weighted mix) against torch.
///
/// `Fixtures/torch_objectives.safetensors` is written by `Tools/make_objective_fixtures.py` in the
/// format of the op fixtures: inputs, torch's scalar output, an upstream gradient gy and torch's
/// gradients of out·gy for every differentiable input. Tolerance: 1e-5 relative plus 1e-6 of the
/// largest magnitude, as for the other ops.
final class TorchObjectiveFixtureTests: XCTestCase {
    private struct Case {
        let name: String, op: String
        let inputs: [String], grads: [String]
        let params: [String: Any]
        func float(_ key: String) throws -> Float {
            guard let v = params[key] as? Double else { throw FixtureError.badParameter(case: name, key: key) }
            return Float(v)
        }
        func direction() throws -> KLDirection {
            guard let s = params["direction"] as? String, let d = KLDirection(rawValue: s) else {
                throw FixtureError.badParameter(case: name, key: "direction")
            }
            return d
        }
    }

    private func cases(_ file: FixtureFile) throws -> [Case] {
        guard let text = file.metadata["cases"],
              let dict = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]] else {
            throw FixtureError.malformedHeader("metadata 'cases'")
        }
        return try dict.map { name, info in
            guard let op = info["op"] as? String, let inputs = info["inputs"] as? [String], let grads = info["grads"] as? [String] else {
                throw FixtureError.malformedHeader("case \(name)")
            }
            return Case(name: name, op: op, inputs: inputs, grads: grads, params: info)
        }.sorted { $0.name < $1.name }
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ label: String) {
        XCTAssertEqual(actual.count, expected.count, label)
        let scale = expected.map(abs).max() ?? 0
        for (a, e) in zip(actual, expected) {
            XCTAssertLessThanOrEqual(abs(a - e), 1e-5 * abs(e) + 1e-6 * scale, "\(label): \(a) vs torch \(e)")
        }
    }

    func testObjectiveOpsMatchTorch() throws {
        let file = try FixtureFile(url: fixtureURL("torch_objectives.safetensors"))
        let all = try cases(file)
        XCTAssertEqual(Set(all.map(\.op)), ["kl_div", "kl_div_topk", "weighted_sq_dist", "weighted_objective"])
        for c in all {
            var params: [String: Parameter] = [:], x: [String: Tensor] = [:], ids: [String: [Int32]] = [:]
            for input in c.inputs {
                let key = "\(c.name)/\(input)"
                if (try? file.info(named: key))?.dtype == .i32 { ids[input] = try file.ints(key); continue }
                let (shape, values) = try file.floats(key)
                let p = Parameter(try Tensor(shape: shape, values: values), trainable: c.grads.contains(input))
                params[input] = p
                x[input] = p.tensor
            }
            func t(_ n: String) throws -> Tensor {
                guard let v = x[n] else { throw FixtureError.missingTensor("\(c.name)/\(n)") }
                return v
            }
            let out: Tensor
            switch c.op {
            case "kl_div":
                out = Tensor.klDivergence(student: try t("student"), teacher: try t("teacher"), temperature: try c.float("temperature"),
                                          direction: try c.direction(), normalizer: try c.float("normalizer"))
            case "kl_div_topk":
                out = Tensor.klDivergence(student: try t("student"), teacher: try t("teacher"), teacherIndices: ids["indices"],
                                          temperature: try c.float("temperature"), direction: try c.direction())
            case "weighted_sq_dist":
                out = Tensor.weightedSquaredDistance(try t("x"), anchor: try t("anchor"), weights: x["weights"])
            case "weighted_objective":
                let n = try c.float("normalizer"), lambda = try c.float("lambda")
                let ce = Tensor.crossEntropy(logits: try t("logits"), targets: ids["targets"] ?? [], normalizer: n)
                let kl = Tensor.klDivergence(student: try t("logits"), teacher: try t("teacher"), temperature: try c.float("temperature"),
                                             normalizer: n)
                let ewc = Tensor.weightedSquaredDistance(try t("theta"), anchor: try t("anchor"), weights: try t("fisher")) * (lambda / 2)
                out = ce * 0.6 + kl * 0.3 + ewc * 0.1
            default:
                XCTFail("unknown op \(c.op)"); continue
            }
            assertClose([out.item], try file.floats("\(c.name)/out0").values, "\(c.name) value")
            let gy = try file.floats("\(c.name)/gy0").values[0]
            let grads = out.gradients(seed: gy)
            XCTAssertEqual(grads.count, c.grads.count, c.name)
            for input in c.grads {
                guard let p = params[input], let g = grads[p] else { XCTFail("\(c.name): no gradient for \(input)"); continue }
                assertClose(g.scalars, try file.floats("\(c.name)/grad_\(input)").values, "\(c.name) grad_\(input)")
            }
        }
    }
}
