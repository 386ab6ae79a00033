/**
 * Dragino LHT65 / LHT65N (standard uplinks on fPort 2): the vendor payload codec, run only inside the QuickJS sandbox (../codec-sandbox.ts), never by Node.
 * Copied verbatim (line endings made LF) from
 * github:TheThingsNetwork/lorawan-devices@0a254aaa3adb0237faed50aa34916df1d07cf417:vendor/dragino/lht65.js
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
export const source = String.raw`function str_pad(byte){
  var zero = '00';
  var hex= byte.toString(16);    
  var tmp  = 2-hex.length;
  return zero.substr(0,tmp) + hex + " ";
}

function decodeUplink(input) {
	 var port = input.fPort;
var bytes = input.bytes;
var Ext= bytes[6]&0x0F;
var poll_message_status=(bytes[6]&0x40)>>6;
var Connect=(bytes[6]&0x80)>>7;
var data = {};
switch (input.fPort) {
   case 2:
if(Ext==0x09)
{
data.TempC_DS=parseFloat(((bytes[0]<<24>>16 | bytes[1])/100).toFixed(2));
data.Bat_status=bytes[4]>>6;
}
else
{
data.BatV= ((bytes[0]<<8 | bytes[1]) & 0x3FFF)/1000;
data.Bat_status=bytes[0]>>6;
}

if(Ext!=0x0f)
{
data.TempC_SHT=parseFloat(((bytes[2]<<24>>16 | bytes[3])/100).toFixed(2));
data.Hum_SHT=parseFloat((((bytes[4]<<8 | bytes[5])&0xFFF)/10).toFixed(1));
}
if(Connect=='1')
{
data.No_connect="Sensor no connection";
}

if(Ext=='0')
{
data.Ext_sensor ="No external sensor";
}
else if(Ext=='1')
{
data.Ext_sensor ="Temperature Sensor";
data.TempC_DS=parseFloat(((bytes[7]<<24>>16 | bytes[8])/100).toFixed(2));
}
else if(Ext=='4')
{
data.Work_mode="Interrupt Sensor send";
data.Exti_pin_level=bytes[7] ? "High":"Low";  
data.Exti_status=bytes[8] ? "True":"False";
}
else if(Ext=='5')
{
data.Work_mode="Illumination Sensor";
data.ILL_lx=bytes[7]<<8 | bytes[8];

}
else if(Ext=='6')
{
data.Work_mode="ADC Sensor";
data.ADC_V=(bytes[7]<<8 | bytes[8])/1000;
}
else if(Ext=='7')
{
data.Work_mode="Interrupt Sensor count";
data.Exit_count=bytes[7]<<8 | bytes[8];
}
else if(Ext=='8')
{
data.Work_mode="Interrupt Sensor count";
data.Exit_count=bytes[7]<<24 | bytes[8]<<16 | bytes[9]<<8 | bytes[10];
}
else if(Ext=='9')
{
data.Work_mode="DS18B20 & timestamp";
data.Systimestamp=(bytes[7]<<24 | bytes[8]<<16 | bytes[9]<<8 | bytes[10] );
}
else if(Ext=='15')
{
data.Work_mode="DS18B20ID";
data.ID=str_pad(bytes[2])+str_pad(bytes[3])+str_pad(bytes[4])+str_pad(bytes[5])+str_pad(bytes[7])+str_pad(bytes[8])+str_pad(bytes[9])+str_pad(bytes[10]);
}

if(poll_message_status===0)
{
if(bytes.length==11)
{
  return {
  data:data,
  }
}
}
break;
default:
  return {
    errors: ["unknown FPort"]
  }

}

}
`;
