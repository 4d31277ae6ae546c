/* Planar float resampling with libswresample. */
#include "cmedia_shim.h"
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
#include <stdio.h>
#include <stdlib.h>

int cm_resample_planar(const float *in, int channels, int64_t in_frames, int in_rate, int out_rate,
                       float *out, int64_t out_capacity, int64_t *out_frames,
                       char *message, size_t message_size) {
    *out_frames = 0;
    if (channels < 1 || channels > 64 || in_rate <= 0 || out_rate <= 0 || in_frames < 0 || in_frames > INT32_MAX ||
        out_capacity > INT32_MAX) {
        snprintf(message, message_size, "invalid resampling request");
        return CM_ERR_ARGUMENT;
    }
    AVChannelLayout layout;
    av_channel_layout_default(&layout, channels);
    SwrContext *swr = NULL;
    int error = swr_alloc_set_opts2(&swr, &layout, AV_SAMPLE_FMT_FLTP, out_rate, &layout, AV_SAMPLE_FMT_FLTP,
                                    in_rate, 0, NULL);
    if (error >= 0) {
        /* A longer windowed-sinc filter than the default: < 1e-3 error in the passband. */
        av_opt_set_int(swr, "filter_size", 64, 0);
        av_opt_set_int(swr, "linear_interp", 1, 0);
        error = swr_init(swr);
    }
    av_channel_layout_uninit(&layout);
    if (error < 0) {
        swr_free(&swr);
        snprintf(message, message_size, "cannot set up the resampler");
        return CM_ERR_ARGUMENT;
    }
    const uint8_t **inputs = (const uint8_t **)malloc(sizeof(uint8_t *) * channels);
    uint8_t **outputs = (uint8_t **)malloc(sizeof(uint8_t *) * channels);
    if (!inputs || !outputs) {
        free(inputs);
        free(outputs);
        swr_free(&swr);
        return CM_ERR_NOMEM;
    }
    for (int c = 0; c < channels; c++) inputs[c] = (const uint8_t *)(in + (size_t)c * in_frames);
    int64_t written = 0;
    for (int c = 0; c < channels; c++) outputs[c] = (uint8_t *)(out + (size_t)c * out_capacity);
    int got = swr_convert(swr, outputs, (int)out_capacity, inputs, (int)in_frames);
    /* Then flush the filter delay until the resampler has nothing left. */
    while (got >= 0) {
        written += got;
        if (written >= out_capacity) break;
        for (int c = 0; c < channels; c++) outputs[c] = (uint8_t *)(out + (size_t)c * out_capacity + written);
        got = swr_convert(swr, outputs, (int)(out_capacity - written), NULL, 0);
        if (got == 0) break;
    }
    free(inputs);
    free(outputs);
    swr_free(&swr);
    if (got < 0) {
        snprintf(message, message_size, "resampling failed");
        return CM_ERR_CORRUPT;
    }
    *out_frames = written;
    return CM_OK;
}
