import ArgumentParser
import Foundation
import MediaIO
import S4ND
import Sashimi
import SSMCore
import Workflows

/// `ssm inspect [MODEL] [--plot PNG]`: what a model is made of and what its kernels learned.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's configuration, parameters and kernels; draw its kernels.",
        discussion: """
            MODEL is an image classifier, a SaShiMi audio model or an audio classifier (default: \
            the shipped image classifier, or $SSM_MODEL). Standard output, JSON lines:
              {"file": ..., "format": ..., "config": {...}, "parameters": N, "parts": {"layers.0": n, ...}}
            then one line per kernel:
              {"name": "layers.0.layer.kernel.1", "kernel": "s4d", "step_size": [min, max], "eig_real": [min, max], "eig_imag": [min, max],
               "pole_abs": [min, max], "taps": n}
            (each field present where the kernel has it: eigenvalues are those of the continuous \
            state matrix, pole_abs the magnitudes of the discrete poles at the training rate).

            --plot FILE.png draws every kernel's impulse responses (the first 6 features; \
            bidirectional kernels over negative and positive lags) — for an image classifier one \
            row per layer with a panel per axis and the 2-D kernel of feature 0 as a heat map.

            --kernels lists the kernel registry instead (one JSON line per kernel: its inits, \
            discretisations, step mode and what a resolution change does).

            Examples:
              ssm inspect --plot kernels.png
              ssm inspect runs/dplr/model.safetensors
              ssm inspect --kernels
            """)

    @Argument(help: "Model file (default: the shipped image classifier).") var model: String?
    @Option(help: "Write the kernels' impulse responses to this PNG.") var plot: String?
    @Flag(help: "List the kernel registry.") var kernels = false

    func run() throws {
        if kernels {
            for e in KernelRegistry.entries {
                var line = JSONLine()
                line.add("kernel", e.name); line.add("summary", e.summary)
                line.add("init", .array(e.initializations.map { .string($0) }))
                line.add("disc", .array(e.discretizations.map { .string($0) }))
                line.add("step_mode", .bool(e.hasStepMode)); line.add("continuous_time", .bool(e.continuousTime))
                line.add("rate", e.rateNote)
                line.print()
            }
            return
        }
        let url = try model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.locate()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { throw CommandError("\(url.path): no such file") }
        if isDir.boolValue { throw CommandError("\(url.path): is a folder, not a model file") }
        let file = try SafeTensors.read(url)
        let format = file.metadata["format"] ?? ""
        let holder: any KernelHolder & Layer
        var rows: [[(String, any SequenceKernel)]] = []
        var length = 64, heat = false
        switch format {
        case ClassifierCheckpoint.format:
            let (m, _) = try ClassifierCheckpoint.load(url)
            holder = m
            // One row per layer: its kernels side by side (one per axis).
            rows = m.blocks.indices.map { i in m.namedKernels.filter { $0.0.hasPrefix("layers.\(i).") } }.filter { !$0.isEmpty }
            length = m.config.trainSize.max() ?? 28
            heat = true
        case AudioCheckpoint.format:
            let (m, _) = try AudioCheckpoint.load(url)
            holder = m
            rows = m.namedKernels.map { [$0] }
            length = 512
        case AudioClassifierFile.format:
            let m = try AudioClassifierFile.load(url)
            holder = m
            rows = m.namedKernels.map { [$0] }
            length = 512
        default:
            throw CommandError("\(url.path): not a model this tool makes (metadata format \(format.isEmpty ? "missing" : "'\(format)'"))")
        }
        var head = JSONLine()
        head.add("file", url.path); head.add("format", format)
        head.add("config", .raw(file.metadata["config"] ?? "null"))
        let params = holder.namedParameters.filter { $0.1.requiresGrad }
        head.add("parameters", params.reduce(0) { $0 + $1.1.value.count })
        var parts = JSONLine(), order: [String] = [], counts: [String: Int] = [:]
        for (name, p) in params {
            let key = Self.part(name)
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += p.value.count
        }
        for k in order { parts.add(k, counts[k]!) }
        head.add("parts", .object(parts))
        head.print()
        for (name, k) in holder.namedKernels {
            let s = kernelStatistics(k)
            var line = JSONLine()
            line.add("name", name)
            line.add("kernel", s.kernel)
            func range(_ key: String, _ r: [Float]?) { if let r { line.add(key, .array(r.map { .double(Double($0)) })) } }
            range("step_size", s.stepSize); range("eig_real", s.eigenvalueReal); range("eig_imag", s.eigenvalueImag)
            range("pole_abs", s.poleMagnitude)
            if let t = s.taps { line.add("taps", t) }
            line.print()
        }
        if let plot {
            let image = KernelPlot.render(rows: rows, length: length, heatMap: heat)
            try PNGFile.write(image, to: plot)
            Stderr.line("inspect: wrote \(plot) (\(rows.count) rows, \(image.width)×\(image.height))")
        }
    }

    /// The parameter's part: its name up to and including the first numeric component (`layers.0`,
    /// `backbone.c_layers.3`), or its first component.
    static func part(_ name: String) -> String {
        let parts = name.split(separator: ".")
        if let i = parts.firstIndex(where: { Int($0) != nil }) { return parts[...i].joined(separator: ".") }
        return String(parts.first ?? "")
    }

}
