/* libpng reading and writing with setjmp kept inside C. */
#include "cmedia_shim.h"
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    char *message;
    size_t message_size;
} cm_png_reader;

static void cm_set_message(char *message, size_t size, const char *text) {
    if (message && size > 0) {
        snprintf(message, size, "%s", text);
    }
}

static void cm_png_error(png_structp png, png_const_charp text) {
    cm_png_reader *reader = (cm_png_reader *)png_get_error_ptr(png);
    if (reader && reader->message && !reader->truncated) {
        cm_set_message(reader->message, reader->message_size, text);
    }
    png_longjmp(png, 1);
}

static void cm_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void cm_png_read(png_structp png, png_bytep out, size_t length) {
    cm_png_reader *reader = (cm_png_reader *)png_get_io_ptr(png);
    if (length > reader->size - reader->position) {
        reader->truncated = 1;
        cm_set_message(reader->message, reader->message_size, "unexpected end of data");
        png_error(png, "unexpected end of data");
    }
    memcpy(out, reader->data + reader->position, length);
    reader->position += length;
}

int cm_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                  cm_png_info *info, void **pixels, char *message, size_t message_size) {
    if (pixels) *pixels = NULL;
    if (!data || !info) {
        cm_set_message(message, message_size, "no data");
        return CM_ERR_ARGUMENT;
    }
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        if (size < 8 && size > 0 && png_sig_cmp((png_const_bytep)data, 0, size) == 0) {
            cm_set_message(message, message_size, "PNG signature cut short");
            return CM_ERR_TRUNCATED;
        }
        cm_set_message(message, message_size, "not a PNG file (bad signature)");
        return CM_ERR_SIGNATURE;
    }
    /* The IHDR's size, read before libpng does: a valid but huge image is "too large", not
     * libpng's "Invalid IHDR data" for sides past its per-side limit. */
    if (size >= 33 && memcmp(data + 12, "IHDR", 4) == 0 &&
        crc32(crc32(0L, Z_NULL, 0), data + 12, 17) ==
            ((uLong)data[29] << 24 | (uLong)data[30] << 16 | (uLong)data[31] << 8 | (uLong)data[32])) {
        /* (only an intact header: a damaged one is libpng's to call corrupt) */
        uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
        uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
        const uint32_t side = 1u << 20, png_max = 0x7fffffffu;
        if (w > 0 && h > 0 && w <= png_max && h <= png_max && (w > side || h > side || (uint64_t)w * h > max_pixels)) {
            if (w > side || h > side)
                snprintf(message, message_size, "%ux%u exceeds the limit of %u pixels per side", (unsigned)w, (unsigned)h, (unsigned)side);
            else
                snprintf(message, message_size, "%ux%u = %llu pixels exceeds the limit of %llu", (unsigned)w, (unsigned)h,
                         (unsigned long long)w * h, (unsigned long long)max_pixels);
            return CM_ERR_TOO_LARGE;
        }
    }
    cm_png_reader reader = {data, size, 0, 0, message, message_size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, cm_png_error, cm_png_warning);
    if (!png) {
        cm_set_message(message, message_size, "out of memory");
        return CM_ERR_NOMEM;
    }
    png_infop pinfo = png_create_info_struct(png);
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        cm_set_message(message, message_size, "out of memory");
        return CM_ERR_NOMEM;
    }
    /* Written after setjmp, read after longjmp: volatile. */
    uint8_t *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = CM_OK;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(buffer);
        png_destroy_read_struct(&png, &pinfo, NULL);
        if (status != CM_OK) return status;
        return reader.truncated ? CM_ERR_TRUNCATED : CM_ERR_CORRUPT;
    }
    png_set_read_fn(png, &reader, cm_png_read);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_read_info(png, pinfo);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, pinfo, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    memset(info, 0, sizeof *info);
    info->width = width;
    info->height = height;
    info->color_type = color_type;
    info->file_bit_depth = bit_depth;
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    info->has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;

    if ((uint64_t)width * (uint64_t)height > max_pixels) {
        char text[160];
        snprintf(text, sizeof text, "%ux%u = %llu pixels exceeds the limit of %llu", (unsigned)width,
                 (unsigned)height, (unsigned long long)width * height, (unsigned long long)max_pixels);
        cm_set_message(message, message_size, text);
        status = CM_ERR_TOO_LARGE;
        png_longjmp(png, 1);
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (info->has_trns) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16) {
        const uint16_t probe = 1;
        if (*(const uint8_t *)&probe == 1) png_set_swap(png);  /* little-endian host */
    }
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    info->channels = png_get_channels(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);

    if (header_only) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        return CM_OK;
    }

    size_t row_bytes = png_get_rowbytes(png, pinfo);
    size_t total = row_bytes * (size_t)height;
    buffer = (uint8_t *)malloc(total > 0 ? total : 1);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (height > 0 ? height : 1));
    if (!buffer || !rows) {
        cm_set_message(message, message_size, "out of memory");
        status = CM_ERR_NOMEM;
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = buffer + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    free(rows);
    png_destroy_read_struct(&png, &pinfo, NULL);
    *pixels = buffer;
    return CM_OK;
}

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
} cm_png_writer;

static void cm_png_write(png_structp png, png_bytep bytes, size_t length) {
    cm_png_writer *writer = (cm_png_writer *)png_get_io_ptr(png);
    if (writer->size + length > writer->capacity) {
        size_t capacity = writer->capacity ? writer->capacity : 4096;
        while (capacity < writer->size + length) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(writer->data, capacity);
        if (!grown) {
            writer->failed = 1;
            png_error(png, "out of memory");
        }
        writer->data = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->data + writer->size, bytes, length);
    writer->size += length;
}

static void cm_png_flush(png_structp png) { (void)png; }

int cm_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    static const int types[5] = {-1, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    *out = NULL;
    *out_size = 0;
    if (!pixels || channels < 1 || channels > 4 || width == 0 || height == 0) {
        cm_set_message(message, message_size, "invalid image for PNG (needs 1–4 channels and a non-empty size)");
        return CM_ERR_ARGUMENT;
    }
    cm_png_reader context = {NULL, 0, 0, 0, message, message_size};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, cm_png_error, cm_png_warning);
    if (!png) return CM_ERR_NOMEM;
    png_infop pinfo = png_create_info_struct(png);
    if (!pinfo) {
        png_destroy_write_struct(&png, NULL);
        return CM_ERR_NOMEM;
    }
    cm_png_writer writer = {NULL, 0, 0, 0};
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(writer.data);
        png_destroy_write_struct(&png, &pinfo);
        return writer.failed ? CM_ERR_NOMEM : CM_ERR_ARGUMENT;
    }
    png_set_write_fn(png, &writer, cm_png_write, cm_png_flush);
    png_set_IHDR(png, pinfo, width, height, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pinfo);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!rows) {
        writer.failed = 1;
        png_error(png, "out of memory");
    }
    size_t row_bytes = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * row_bytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &pinfo);
    *out = writer.data;
    *out_size = writer.size;
    return CM_OK;
}

void cm_free(void *pointer) { free(pointer); }
