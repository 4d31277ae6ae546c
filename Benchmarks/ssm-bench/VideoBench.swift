// `video` suite: the default video model's clips/s (model alone, and decode + classify per file)
// next to decoding the same frames alone (the floor) and the ffmpeg tool decoding each whole file
// (its process start-up included); `ssm batch` files/s over a mixed
// folder of 500+ files; time and peak memory of one 64-frame 112×112 clip through `ssm classify`.
// Needs ffmpeg, the shipped models and the release `ssm` beside this binary.
import Foundation
import MediaIO
import S4ND
import SSMCore
import Workflows

private func wall(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Runs a program quietly; returns (wall seconds, stderr text). Throws when it fails and `check`.
@discardableResult
private func run(_ program: String, _ arguments: [String], check: Bool = true) throws -> (Double, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
    p.arguments = program.hasPrefix("/") ? arguments : [program] + arguments
    p.standardOutput = FileHandle.nullDevice
    let pipe = Pipe()
    p.standardError = pipe
    let t = try wall {
        try p.run()
        p.waitUntilExit()
    }
    let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    if check && p.terminationStatus != 0 {
        throw NSError(domain: "ssm-bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(program) \(arguments.prefix(4)) failed: \(err.suffix(300))"])
    }
    return (t, err)
}

func videoSuite() throws {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let ssm = exe.appendingPathComponent("ssm").path
    guard FileManager.default.isExecutableFile(atPath: ssm) else {
        FileHandle.standardError.write("video: \(ssm) missing; build it (swift build -c release --product ssm)\n".data(using: .utf8)!)
        return
    }
    let modelURL = try DefaultModel.locateVideo(executable: exe.appendingPathComponent("ssm"))
    let (model, _) = try ClassifierCheckpoint.load(modelURL)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ssm-bench-video-\(getpid())")
    let corpus = folder.appendingPathComponent("corpus")
    try FileManager.default.createDirectory(at: corpus.appendingPathComponent("clips"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }

    // 64 moving-item clips like the model's data: 32 frames of 64×64, H.264 (items: the sample images).
    let items = try FileManager.default.contentsOfDirectory(atPath: "samples/images").filter { $0.hasSuffix(".png") && !$0.contains("x") }.sorted()
    var rng = SeededRNG(seed: 11)
    var clips: [String] = []
    for k in 0..<64 {
        let image = try PNGFile.read("samples/images/" + items[k % items.count], mode: .gray).resized(height: 28, width: 28)
        let motion = MotionClips.motion(direction: k % 4, canvas: 64, speeds: 1...1.75, rng: &rng)
        let frames = MotionClips.render(item: image.pixels.map { UInt8(($0 * 255).rounded()) }, side: 28, motion: motion, canvas: 64, frames: 32)
        let raw = folder.appendingPathComponent("\(k).gray")
        try Data(frames).write(to: raw)
        let clip = corpus.appendingPathComponent(String(format: "clips/%02d-%@.mp4", k, MotionClips.classes[k % 4])).path
        try run("ffmpeg", ["-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "64x64", "-r", "16", "-i", raw.path,
                           "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p", "-threads", "1", clip])
        clips.append(clip)
    }
    let T = model.config.trainSize[0]

    // The model alone: one clip at a time at the training grid and at the clips' 64×64.
    for grid in [[T, 32, 32], [T, 64, 64]] {
        let x = Tensor(shape: [1, 1] + grid, data: [Float](repeating: 0.3, count: grid.reduce(1, *)))
        _ = Autograd.withoutGradients { model(x).value }
        let n = 16
        let t = wall { for _ in 0..<n { _ = Autograd.withoutGradients { model(x).value } } }
        emitJSON([("suite", "video"), ("name", "model_forward"), ("grid", grid.map(String.init).joined(separator: "x")),
                  ("clips_per_s", Double(n) / t)])
    }
    // Decode + classify each file (as `ssm classify`), next to the ffmpeg tool decoding them alone.
    var correct = 0
    let ours = try wall {
        for (k, c) in clips.enumerated() {
            let r = try Classification.classifyClip(c, model: model, topK: 1)
            if r.label == MotionClips.classes[k % 4] { correct += 1 }
        }
    }
    // The floor: the same frames decoded alone (MediaIO, as classification reads them).
    let decodeOnly = try wall { for c in clips { _ = try Samples.clip(c, frames: T, gray: true) } }
    var tool = 0.0
    for c in clips { tool += try run("ffmpeg", ["-nostdin", "-y", "-v", "error", "-threads", "1", "-i", c, "-f", "rawvideo", "-pix_fmt", "gray", "/dev/null"]).0 }
    emitJSON([("suite", "video"), ("name", "classify_clip_64x64"), ("frames", T), ("clips", clips.count),
              ("clips_per_s", Double(clips.count) / ours), ("decode_only_clips_per_s", Double(clips.count) / decodeOnly),
              ("ffmpeg_cli_decode_files_per_s", Double(clips.count) / tool),
              ("accuracy", Double(correct) / Double(clips.count))])

    // `ssm batch` over 500+ mixed files: 400 images (PNG and JPEG), 100 clips, 8 short audio files.
    try FileManager.default.createDirectory(at: corpus.appendingPathComponent("images"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: corpus.appendingPathComponent("audio"), withIntermediateDirectories: true)
    let stills = try FileManager.default.contentsOfDirectory(atPath: "samples/images").filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    for k in 0..<400 {
        let name = stills[k % stills.count]
        try FileManager.default.copyItem(atPath: "samples/images/" + name, toPath: corpus.appendingPathComponent("images/\(k)-\(name)").path)
    }
    for k in 64..<100 { try FileManager.default.copyItem(atPath: clips[k % 64], toPath: corpus.appendingPathComponent("clips/copy-\(k).mp4").path) }
    let speech = try AudioFile.read("samples/audio/speech-digits-16k.wav")
    for k in 0..<8 {
        let start = k * speech.sampleRate / 4, n = speech.sampleRate / 2
        try AudioFile.write(AudioBuffer(sampleRate: speech.sampleRate, channels: 1, frames: n, samples: Array(speech.samples[start..<(start + n)])),
                            to: corpus.appendingPathComponent("audio/\(k).wav").path)
    }
    let files = 400 + 100 + 8
    let out = folder.appendingPathComponent("out").path
    let (batchSeconds, _) = try run(ssm, ["batch", corpus.path, "--out", out])
    var videoDecode = 0.0
    for c in try FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent("clips").path) {
        videoDecode += try run("ffmpeg", ["-nostdin", "-y", "-v", "error", "-threads", "1", "-i", corpus.appendingPathComponent("clips/" + c).path,
                                          "-f", "rawvideo", "-pix_fmt", "gray", "/dev/null"]).0
    }
    emitJSON([("suite", "video"), ("name", "batch_mixed"), ("files", files), ("images", 400), ("videos", 100), ("audio", 8),
              ("seconds", batchSeconds), ("files_per_s", Double(files) / batchSeconds),
              ("ffmpeg_cli_decode_videos_seconds", videoDecode)])

    // One 64-frame 112×112 clip through `ssm classify --frames 64`: time and peak RSS (GNU time).
    let big = folder.appendingPathComponent("testsrc-112.mp4").path
    try run("ffmpeg", ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=112x112:rate=16", "-frames:v", "64",
                       "-c:v", "libx264", "-pix_fmt", "yuv420p", big])
    let (seconds, err) = try run("/usr/bin/time", ["-f", "peak_rss_kb=%M", ssm, "classify", big, "--frames", "64"])
    let rss = err.split(separator: "\n").compactMap { $0.hasPrefix("peak_rss_kb=") ? Double($0.dropFirst(12)) : nil }.last ?? -1
    emitJSON([("suite", "video"), ("name", "classify_64x112x112"), ("seconds", seconds), ("peak_rss_mb", rss / 1024)])
}
