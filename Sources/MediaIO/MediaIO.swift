import CMedia
/// Media decoding and encoding (audio, images, video) into Float32 tensors.
public enum MediaIO {}
