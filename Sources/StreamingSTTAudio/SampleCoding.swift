/// Conversions between encoded sample bytes and floats.
///
/// int16 ↔ float uses the scale 32768 both ways (`Float(x) / 32768`, `round(f · 32768)` clamped),
/// so int16 → float → int16 is lossless. Floats outside -1...1 clip; NaN becomes 0.
package enum SampleCoding {
    /// Decodes interleaved samples (whole samples only) to floats.
    package static func floats(from bytes: [UInt8], encoding: AudioFormat.Encoding) -> [Float] {
        let count = bytes.count / encoding.bytesPerSample
        return [Float](filling: count) { output, initialized in
            bytes.withUnsafeBytes { raw in
                switch encoding {
                case .float32:
                    for index in 0..<count {
                        let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                        output[index] = Float(bitPattern: bits)
                    }
                case .int16:
                    for index in 0..<count {
                        let value = Int16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: Int16.self))
                        output[index] = Float(value) * (1 / 32768)
                    }
                case .mulaw:
                    MuLaw.decodeTable.withUnsafeBufferPointer { table in
                        for index in 0..<count {
                            output[index] = Float(table[Int(raw[index])]) * (1 / 32768)
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// Encodes floats as interleaved sample bytes.
    package static func bytes(fromFloat samples: [Float], encoding: AudioFormat.Encoding = .float32) -> [UInt8] {
        let size = encoding.bytesPerSample
        return [UInt8](filling: samples.count * size) { output, initialized in
            let raw = UnsafeMutableRawBufferPointer(output)
            samples.withUnsafeBufferPointer { input in
                switch encoding {
                case .float32:
                    for index in input.indices {
                        raw.storeBytes(
                            of: input[index].bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self)
                    }
                case .int16:
                    for index in input.indices {
                        raw.storeBytes(of: int16(input[index]).littleEndian, toByteOffset: index * 2, as: Int16.self)
                    }
                case .mulaw:
                    for index in input.indices {
                        output[index] = MuLaw.encode(int16(input[index]))
                    }
                }
            }
            initialized = samples.count * size
        }
    }

    /// Encodes int16 samples as little-endian bytes.
    package static func bytes(fromInt16 samples: [Int16]) -> [UInt8] {
        [UInt8](filling: samples.count * 2) { output, initialized in
            let raw = UnsafeMutableRawBufferPointer(output)
            for (index, sample) in samples.enumerated() {
                raw.storeBytes(of: sample.littleEndian, toByteOffset: index * 2, as: Int16.self)
            }
            initialized = samples.count * 2
        }
    }

    /// Decodes little-endian int16 bytes.
    package static func int16Samples(from bytes: [UInt8]) -> [Int16] {
        let count = bytes.count / 2
        return [Int16](filling: count) { output, initialized in
            bytes.withUnsafeBytes { raw in
                for index in 0..<count {
                    output[index] = Int16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: Int16.self))
                }
            }
            initialized = count
        }
    }

    /// int16 ↔ mu-law without going through floats (same results, faster); `nil` for other pairs.
    package static func directlyConverted(
        _ bytes: [UInt8], from input: AudioFormat.Encoding, to output: AudioFormat.Encoding
    ) -> [UInt8]? {
        switch (input, output) {
        case (.int16, .mulaw):
            let count = bytes.count / 2
            return [UInt8](filling: count) { out, initialized in
                bytes.withUnsafeBytes { raw in
                    for index in 0..<count {
                        let sample = Int16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: Int16.self))
                        out[index] = MuLaw.encode(sample)
                    }
                }
                initialized = count
            }
        case (.mulaw, .int16):
            return MuLaw.decodeTable.withUnsafeBufferPointer { table in
                [UInt8](filling: bytes.count * 2) { out, initialized in
                    let raw = UnsafeMutableRawBufferPointer(out)
                    for (index, code) in bytes.enumerated() {
                        raw.storeBytes(of: table[Int(code)].littleEndian, toByteOffset: index * 2, as: Int16.self)
                    }
                    initialized = bytes.count * 2
                }
            }
        case (.int16, .int16), (.mulaw, .mulaw), (.float32, .float32):
            return bytes
        default:
            return nil
        }
    }

    /// One float as int16: scaled by 32768, rounded to nearest, clipped; NaN is 0.
    @inline(__always)
    package static func int16(_ value: Float) -> Int16 {
        let scaled = (value * 32768).rounded()
        if scaled >= 32767 { return 32767 }
        if scaled <= -32768 { return -32768 }
        if scaled.isNaN { return 0 }
        return Int16(scaled)
    }
}
