import Foundation
import XCTest
import MediaIO
import Sashimi
import SSMCore
import TestSupport
@testable import Workflows

final class AudioWorkflowTests: XCTestCase {
    static func tinyConfig() -> AudioModelConfig {
        var c = AudioModelConfig()
        c.backbone.dModel = 8; c.backbone.nLayers = 1; c.backbone.dState = 8; c.backbone.pool = [2, 2]
        c.sampleRate = 8000
        return c
    }

    static func tinyModel(seed: UInt64 = 1) -> SashimiAudioModel {
        var rng = SeededRNG(seed: seed)
        return SashimiAudioModel(tinyConfig(), rng: &rng)
    }

    func testDatasetLoadsSamplesAndReportsBadFiles() throws {
        let dir = TestSupport.temporaryDirectory()
        try FileManager.default.copyItem(at: TestSupport.samplesDirectory.appendingPathComponent("audio"), to: dir.appendingPathComponent("a"))
        try Data("not audio".utf8).write(to: dir.appendingPathComponent("a/broken.wav"))
        try Data().write(to: dir.appendingPathComponent("a/empty.flac"))
        try Data("x".utf8).write(to: dir.appendingPathComponent("a/notes.txt"))
        try Data("x".utf8).write(to: dir.appendingPathComponent("a/.hidden.wav"))
        let (d, skipped) = try AudioDataset.load(dir.path, sampleRate: 8000, quantizer: AudioQuantizer())
        XCTAssertEqual(d.count, 3)
        XCTAssertEqual(Set(skipped.map { URL(fileURLWithPath: $0.file).lastPathComponent }), ["broken.wav", "empty.flac"])
        // 16 kHz speech resampled to 8 kHz: half the frames; peak-scaled so the extreme classes appear.
        let digits = d.clips.first { $0.file.hasSuffix("speech-digits-16k.wav") }!
        let original = try AudioFile.info(TestSupport.samplesDirectory.appendingPathComponent("audio/speech-digits-16k.wav").path)
        XCTAssertEqual(digits.classes.count, Int((Double(original.frames) / 2).rounded()))
        XCTAssertTrue(digits.classes.contains(255) || digits.classes.contains(0))
        XCTAssertThrowsError(try AudioDataset.load(dir.appendingPathComponent("nothing").path, sampleRate: 8000, quantizer: AudioQuantizer()))
    }

    func testWindowsPadShortClipsWithSilence() {
        let d = AudioDataset(clips: [AudioClip(file: "a", classes: [1, 2, 3]), AudioClip(file: "b", classes: (0..<10).map { UInt16($0 + 10) })],
                             sampleRate: 8000, quantizer: AudioQuantizer())
        var rng = SeededRNG(seed: 4)
        let w = d.randomWindows(batch: 40, length: 4, rng: &rng)
        for b in 0..<40 {
            let row = Array(w[(b * 4)..<(b * 4 + 4)])
            let isShort = row.contains(1) || row.contains(2) || row.contains(3)
            if isShort { XCTAssertEqual(row.filter { $0 != 128 }, [1, 2, 3]) }
            else { XCTAssertEqual(row, Array(row[0]..<(row[0] + 4)), "a contiguous window of the long clip") }
        }
        let e = d.evaluationWindows(length: 4)
        XCTAssertEqual(e.map { $0.valid }, [3, 4, 4, 2])
        XCTAssertEqual(e[0].classes, [1, 2, 3, 128])
    }

    /// Stopping at a checkpoint and resuming gives bit-identical weights to an uninterrupted run.
    func testResumeIsBitExact() throws {
        let clips = (0..<6).map { i in AudioClip(file: "\(i)", classes: (0..<300).map { UInt16((($0 * (i + 3)) % 200) + 20) }) }
        let data = AudioDataset(clips: clips, sampleRate: 8000, quantizer: AudioQuantizer())
        var o = AudioTrainingOptions()
        o.steps = 6; o.batchSize = 2; o.length = 64; o.evalEvery = 3; o.checkpointEvery = 3; o.warmupSteps = 2; o.seed = 9
        var c = Self.tinyConfig(); c.backbone.dropout = 0.1
        var rng = SeededRNG(seed: 5)
        let straight = try AudioTrainer(model: SashimiAudioModel(c, rng: &rng), options: o)
        try straight.run(train: data, validation: data, checkpoint: nil)
        XCTAssertEqual(straight.history.count, 2)
        XCTAssertNotNil(straight.history.last!.validationBitsPerSample)

        let dir = TestSupport.temporaryDirectory()
        let ckpt = dir.appendingPathComponent("c.safetensors")
        rng = SeededRNG(seed: 5)
        let first = try AudioTrainer(model: SashimiAudioModel(c, rng: &rng), options: o)
        try first.run(train: data, validation: data, checkpoint: ckpt, stopAfter: 3)
        XCTAssertEqual(first.step, 3)
        let (m, file) = try AudioCheckpoint.load(ckpt)
        let second = try AudioTrainer(model: m, options: o)
        try second.resume(from: file, path: ckpt.path)
        try second.run(train: data, validation: data, checkpoint: ckpt)
        XCTAssertEqual(second.step, 6)
        for ((name, a), (_, b)) in zip(straight.model.namedParameters, second.model.namedParameters) {
            XCTAssertEqual(a.value.data, b.value.data, name)
        }
    }

    func testBadLengthIsAClearError() {
        var o = AudioTrainingOptions(); o.length = 30
        XCTAssertThrowsError(try AudioTrainer(model: Self.tinyModel(), options: o)) { e in
            XCTAssertTrue("\(e)".contains("multiple of 4"), "\(e)")
        }
    }

    /// Same seed, same samples, whatever the number of sequences beside it or threads.
    func testGenerationIsDeterministicPerSequence() throws {
        let m = Self.tinyModel()
        let one = try AudioGeneration.generate(m, samples: 200, count: 1, sampling: SamplingOptions(), seed: 3, threads: 1)
        let many = try AudioGeneration.generate(m, samples: 200, count: 5, sampling: SamplingOptions(), seed: 3, threads: 2)
        XCTAssertEqual(one[0].classes, many[0].classes)
        XCTAssertEqual(one[0].logLikelihood, many[0].logLikelihood, accuracy: 1e-9)
        XCTAssertNotEqual(many[0].classes, many[1].classes)
        XCTAssertEqual(many.map { $0.classes.count }, [Int](repeating: 200, count: 5))
        let again = try AudioGeneration.generate(m, samples: 200, count: 5, sampling: SamplingOptions(), seed: 3, threads: 1)
        XCTAssertEqual(again.map { $0.classes }, many.map { $0.classes })
    }

    /// The reported log-likelihood equals the convolution-mode score of the generated sequence.
    func testGeneratedLikelihoodMatchesScoring() throws {
        let m = Self.tinyModel()
        let g = try AudioGeneration.generate(m, samples: 64, count: 1, sampling: SamplingOptions(temperature: 0.8), seed: 1)[0]
        let r = try AudioEvaluation.bitsPerSample(m, windows: [(g.classes, 64)])
        XCTAssertEqual(g.bitsPerSample, r.bits, accuracy: 1e-3)
        XCTAssertGreaterThan(g.meanEntropyBits, 0)
    }

    func testPromptIsKeptAndContinued() throws {
        let m = Self.tinyModel()
        let prompt = (0..<10).map { 100 + $0 }
        let r = try AudioGeneration.generate(m, samples: 22, count: 2, prompts: [("p", prompt)], sampling: SamplingOptions(), seed: 2)
        XCTAssertEqual(r.count, 2)
        for g in r {
            XCTAssertEqual(Array(g.classes.prefix(10)), prompt)
            XCTAssertEqual(g.classes.count, 32)
            XCTAssertEqual(g.generatedSamples, 22)
            XCTAssertEqual(g.prompt, "p")
        }
        // Scoring the whole sequence in convolution mode: the generated part's NLL equals the reported one.
        let z = try Autograd.withoutGradients { try m.logits(m.teacherForcingInputs(r[0].classes, batch: 1), batch: 1).value }
        var nll = 0.0
        var row = [Float](repeating: 0, count: 256)
        for t in 10..<32 {
            let lse = z.data.withUnsafeBufferPointer { p in row.withUnsafeMutableBufferPointer { softmaxRow(p.baseAddress! + t * 256, into: $0.baseAddress!, count: 256) } }
            nll += lse - Double(z.data[t * 256 + r[0].classes[t]])
        }
        XCTAssertEqual(-r[0].logLikelihood, nll, accuracy: 1e-3)
    }

    func testModelFileRoundTripAndStrictLoading() throws {
        let m = Self.tinyModel()
        let dir = TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("m.safetensors")
        try AudioCheckpoint.save(m, to: url)
        let (back, _) = try AudioCheckpoint.load(url)
        XCTAssertEqual(back.config, m.config)
        for ((n, a), (_, b)) in zip(m.namedParameters, back.namedParameters) { XCTAssertEqual(a.value, b.value, n) }
        // NaN weights are refused, naming the tensor.
        var w = m.stateDict(); w["head.bias"]!.data[0] = .nan
        try SafeTensors.write(w, metadata: ["format": AudioCheckpoint.format, "config": String(decoding: try JSONEncoder().encode(m.config), as: UTF8.self)], to: url)
        XCTAssertThrowsError(try AudioCheckpoint.load(url)) { e in XCTAssertTrue("\(e)".contains("head.bias"), "\(e)") }
        // A configuration with a missing key or a bad value names the field.
        try SafeTensors.write(m.stateDict(), metadata: ["format": AudioCheckpoint.format, "config": #"{"sample_rate": 8000}"#], to: url)
        XCTAssertThrowsError(try AudioCheckpoint.load(url)) { e in XCTAssertTrue("\(e)".contains("missing key \"backbone\""), "\(e)") }
        var bad = m.config; bad.backbone.dState = 7
        try SafeTensors.write(m.stateDict(), metadata: ["format": AudioCheckpoint.format, "config": String(decoding: try JSONEncoder().encode(bad), as: UTF8.self)], to: url)
        XCTAssertThrowsError(try AudioCheckpoint.load(url)) { e in XCTAssertTrue("\(e)".contains("d_state must be even"), "\(e)") }
        // An image classifier is not an audio model.
        try SafeTensors.write(m.stateDict(), metadata: ["format": ClassifierCheckpoint.format], to: url)
        XCTAssertThrowsError(try AudioCheckpoint.load(url)) { e in XCTAssertTrue("\(e)".contains("not a SaShiMi audio model"), "\(e)") }
    }

    func testNGramBaselines() {
        let q = AudioQuantizer()
        // A periodic signal: the unigram knows nothing of the order, a bigram predicts it almost exactly.
        let clip = AudioClip(file: "x", classes: (0..<4000).map { UInt16([10, 200, 30, 90][$0 % 4]) })
        let uni = NGramBaseline(order: 0, clips: [clip], quantizer: q)
        let bi = NGramBaseline(order: 1, clips: [clip], quantizer: q)
        XCTAssertEqual(uni.bitsPerSample([clip], quantizer: q), 2, accuracy: 0.05)
        XCTAssertLessThan(bi.bitsPerSample([clip], quantizer: q), 0.5)
    }
}

final class SpectrogramTests: XCTestCase {
    /// A 1 kHz sine at 8 kHz with a 256-sample window peaks at bin 1000/8000·256 = 32.
    func testSinePeaksAtItsBin() {
        let x = (0..<4000).map { Float(sin(2 * Double.pi * 1000 * Double($0) / 8000)) }
        let s = Spectrogram(samples: x, window: 256, hop: 64)
        XCTAssertEqual(s.bins, 129)
        XCTAssertEqual(s.frames, (4000 - 256 + 63) / 64 + 1)
        for t in [0, 10, 50] { XCTAssertEqual(s.peakBin(frame: t), 32) }
        let img = s.image()
        XCTAssertEqual(img.shape, [3, 129, s.frames])
        // The peak row (bin 32 → row 129 − 1 − 32) is the brightest.
        let row = 128 - 32
        XCTAssertGreaterThan(img[0, row, 10] + img[1, row, 10], img[0, 10, 10] + img[1, 10, 10])
    }
}

final class AudioClassifierTests: XCTestCase {
    func testInceptionScoresOfKnownDistributions() {
        // Confident and spread evenly over 4 classes: IS = 4; mIS = exp(mean KL over pairs) is large.
        let confident = (0..<40).map { i in (0..<4).map { $0 == i % 4 ? 1.0 : 0.0 } }
        let (isConfident, misConfident) = AudioClassification.inceptionScores(confident)
        XCTAssertEqual(isConfident, 4, accuracy: 1e-6)
        XCTAssertGreaterThan(misConfident, 100)
        // All the same distribution: both scores are 1.
        let same = [[Double]](repeating: [0.25, 0.25, 0.5, 0], count: 10)
        let (isSame, misSame) = AudioClassification.inceptionScores(same)
        XCTAssertEqual(isSame, 1, accuracy: 1e-9)
        XCTAssertEqual(misSame, 1, accuracy: 1e-9)
        // Uniform predictions carry no information: IS = 1.
        XCTAssertEqual(AudioClassification.inceptionScores([[Double]](repeating: [0.5, 0.5], count: 5)).inception, 1, accuracy: 1e-9)
    }

    func testClassifierLearnsTwoTonesAndRoundTrips() throws {
        // Class 0: low tone, class 1: high tone.
        let q = AudioQuantizer()
        func tone(_ f: Double, _ n: Int, phase: Double) -> AudioClip {
            AudioClip(file: "x", classes: q.encode((0..<n).map { Float(0.8 * sin(2 * .pi * f * Double($0) / 8000 + phase)) }))
        }
        var clips: [AudioClip] = [], labels: [Int] = []
        for i in 0..<24 { clips.append(tone(i % 2 == 0 ? 200 : 2000, 300 + 10 * i, phase: Double(i))); labels.append(i % 2) }
        let data = AudioDataset(clips: clips, sampleRate: 8000, quantizer: q)
        var c = AudioClassifierConfig()
        c.dModel = 8; c.pool = [4, 4]; c.dState = 8; c.length = 512; c.classNames = ["low", "high"]
        var rng = SeededRNG(seed: 2)
        let model = AudioClassifier(c, rng: &rng)
        var last: Double?
        try AudioClassification.train(model, data: data, labels: labels, validation: (data, labels), epochs: 8, batchSize: 8,
                                      learningRate: 0.01, seed: 1) { _, _, accuracy in last = accuracy }
        XCTAssertGreaterThanOrEqual(last ?? 0, 0.9)
        let url = TestSupport.temporaryDirectory().appendingPathComponent("c.safetensors")
        try AudioClassifierFile.save(model, to: url)
        let back = try AudioClassifierFile.load(url)
        XCTAssertEqual(try AudioClassification.probabilities(back, data), try AudioClassification.probabilities(model, data))
        XCTAssertThrowsError(try AudioClassifierFile.load(URL(fileURLWithPath: "models/fashion-mnist-s4nd.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("not an audio classifier"), "\(e)")
        }
    }
}
