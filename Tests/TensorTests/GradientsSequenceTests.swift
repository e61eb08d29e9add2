import Tensor
import XCTest

/// `Gradients` iterates as (parameter, gradient) pairs, agreeing with its subscript.
final class GradientsSequenceTests: XCTestCase {
    func testIterationYieldsEveryParameterWithItsGradient() throws {
        let a = Parameter(try Tensor(shape: [3], values: [1, 2, 3]))
        let b = Parameter(try Tensor(shape: [3], values: [4, -5, 6]))
        let unused = Parameter(Tensor.full([2], 1))
        let grads = (a.tensor * b.tensor).sum().gradients()
        let pairs = Array(grads)
        XCTAssertEqual(pairs.count, 2)
        XCTAssertEqual(Set(pairs.map { ObjectIdentifier($0.parameter) }), [ObjectIdentifier(a), ObjectIdentifier(b)])
        for (parameter, gradient) in grads {
            XCTAssertEqual(gradient.scalars, grads[parameter]?.scalars)
        }
        XCTAssertEqual(grads[a]?.scalars, [4, -5, 6])
        XCTAssertNil(grads[unused])
        XCTAssertFalse(pairs.contains { $0.parameter === unused })
    }
}
