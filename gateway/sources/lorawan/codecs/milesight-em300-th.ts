/**
 * Milesight EM300-TH (the simplified codec of the TTN device repository: battery, temperature, humidity; it stops at the first channel it does not know): the vendor payload codec, run only inside the QuickJS sandbox (../codec-sandbox.ts), never by Node.
 * Copied verbatim (line endings made LF) from
 * github:TheThingsNetwork/lorawan-devices@00bd1a828ffc5568dfb631b214d5f19436b0f864:vendor/milesight-iot/em300-th.js
 * under the MIT licence of that repository:
 *
 * MIT License
 *
 * Copyright (c) 2018 The Things Industries
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in all
 * copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 * SOFTWARE.
 */
export const source = String.raw`function decodeUplink(input) {
	return {
	  data : Decoder(input.bytes, input.fPort),
	};
}

function Decoder(bytes, port) {
    var decoded = {};

    for (var i = 0; i < bytes.length;) {

        var channel_id = bytes[i++];

        var channel_type = bytes[i++];

        // BATTERY

        if (channel_id === 0x01 && channel_type === 0x75) {

            decoded.battery = bytes[i];

            i += 1;

        }

        // TEMPERATURE

        else if (channel_id === 0x03 && channel_type === 0x67) {

            decoded.temperature = readInt16LE(bytes.slice(i, i + 2)) / 10;

            i += 2;

        }

        // HUMIDITY

        else if (channel_id === 0x04 && channel_type === 0x68) {

            decoded.humidity = bytes[i] / 2;

            i += 1;

        }



        else {

            break;

        }

    }

    return decoded;

}

function normalizeUplink(input) {
  return {
    data: {
      air: {
        temperature: input.data.temperature,
        relativeHumidity: input.data.humidity
      },
      battery: input.data.battery,
    }
  };
}


/* ******************************************
 * bytes to number
 ********************************************/

function readUInt16LE(bytes) {

    var value = (bytes[1] << 8) + bytes[0];

    return value & 0xffff;

}



function readInt16LE(bytes) {

    var ref = readUInt16LE(bytes);

    return ref > 0x7fff ? ref - 0x10000 : ref;

}
`;
