import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export type Lang = 'vi' | 'en';

/** Vietnamese first: officers in Lạc Dương read it; English for visiting engineers. */
const EN = {
  appName: 'frostwatch', signIn: 'Sign in', signOut: 'Sign out', username: 'Username', password: 'Password',
  overview: 'Overview', alerts: 'Alerts', registry: 'Registry', reports: 'Reports', live: 'live', reconnecting: 'reconnecting…',
  station: 'Station', commune: 'Commune', temp: 'Temp.', forecastMin: 'Forecast min.', level: 'Level', lastSeen: 'Last seen',
  battery: 'Battery', none: 'none', watch: 'watch', warning: 'warning', severe: 'severe', offline: 'offline', noStations: 'No stations yet.',
  raised: 'raised', kind_frost: 'Frost', kind_station_offline: 'Station offline', kind_sensor_fault: 'Sensor fault', kind_low_battery: 'Low battery',
  night: 'Tonight', nightReport: 'Night', h24: '24 h', d7: '7 days', season: 'Season', airTemp: 'Air', dewPoint: 'Dew point', leafEst: 'Leaf (est.)',
  forecast: 'Forecast tonight', resetZoom: 'Reset zoom', dragToZoom: 'Drag across the chart to zoom; ◀ ▶ to pan; double-click to reset.',
  active: 'Active', acknowledged: 'Acknowledged', cleared: 'Cleared', acknowledge: 'Acknowledge', history: 'History',
  deliveries: 'Deliveries', who: 'Who', channel: 'Channel', status: 'Status', time: 'Time', reason: 'Reason', noAlerts: 'No alerts.',
  unreached: 'Not reached tonight', nobodyUnreached: 'Everyone warned has been reached.', opened: 'Opened', kind: 'Kind',
  stations: 'Stations', farmers: 'Farmers', officers: 'Officers', communeStations: 'Commune stations', create: 'Create', save: 'Save',
  name: 'Name', lat: 'Latitude', lon: 'Longitude', elevation: 'Elevation (m)', crop: 'Crop', phone: 'Phone', language: 'Language',
  diacritics: 'SMS with diacritics', contacts: 'Contacts', addContact: 'Add contact', remove: 'Remove', role: 'Role', offset: 'Offset °C',
  importCsv: 'Import CSV', upload: 'Upload', row: 'Row', result: 'Result', tokenOnce: 'Station token — shown only once. Copy it now.',
  copy: 'Copy', copied: 'Copied', close: 'Close', created: 'Created', updated: 'Updated', failed: 'Failed',
  date: 'Date', from: 'From', to: 'To', show: 'Show', downloadCsv: 'Download CSV', print: 'Print', minAir: 'Min. air °C',
  minAt: 'At', hoursBelow2: 'h < 2 °C', hoursBelow0: 'h < 0 °C', hoursBelowM2: 'h < −2 °C', highest: 'Highest level',
  messages: 'Messages', reach: 'Reach', leadTime: 'Lead time (h)', loading: 'Loading…', noData: 'No data.',
  readOnly: 'Read-only (viewer)', docs: 'API docs', health: 'Health', back: 'Back', faults: 'Faults', open: 'Open',
  stationIds: 'Stations (comma separated)', signInFailed: 'Sign-in failed', coldest: 'Minima per station',
  audit: 'Audit log', actor: 'Who', action: 'Action', target: 'Target', address: 'Address', details: 'Details', older: 'Older',
};
type Dict = typeof EN;
export type Key = keyof Dict;

const VI: Dict = {
  appName: 'frostwatch', signIn: 'Đăng nhập', signOut: 'Đăng xuất', username: 'Tên đăng nhập', password: 'Mật khẩu',
  overview: 'Tổng quan', alerts: 'Cảnh báo', registry: 'Danh bạ', reports: 'Báo cáo', live: 'trực tiếp', reconnecting: 'đang kết nối lại…',
  station: 'Trạm', commune: 'Xã', temp: 'Nhiệt độ', forecastMin: 'Dự báo thấp nhất', level: 'Mức', lastSeen: 'Lần cuối',
  battery: 'Pin', none: 'bình thường', watch: 'theo dõi', warning: 'cảnh báo', severe: 'nguy hiểm', offline: 'mất kết nối',
  raised: 'đang có', kind_frost: 'Sương muối', kind_station_offline: 'Trạm mất kết nối', kind_sensor_fault: 'Hỏng cảm biến', kind_low_battery: 'Pin yếu',
  noStations: 'Chưa có trạm.', night: 'Đêm nay', nightReport: 'Theo đêm', h24: '24 giờ', d7: '7 ngày', season: 'Mùa vụ', airTemp: 'Không khí',
  dewPoint: 'Điểm sương', leafEst: 'Lá (ước tính)', forecast: 'Dự báo đêm nay', resetZoom: 'Bỏ phóng to',
  dragToZoom: 'Kéo ngang trên biểu đồ để phóng to; ◀ ▶ để dịch; nhấp đúp để trở lại.', active: 'Đang mở', acknowledged: 'Đã xác nhận', cleared: 'Đã kết thúc',
  acknowledge: 'Xác nhận', history: 'Diễn biến', deliveries: 'Tin nhắn / cuộc gọi', who: 'Người nhận', channel: 'Kênh',
  status: 'Trạng thái', time: 'Thời gian', reason: 'Lý do', noAlerts: 'Không có cảnh báo.', unreached: 'Chưa liên lạc được đêm nay',
  nobodyUnreached: 'Đã liên lạc được với tất cả.', opened: 'Mở lúc', kind: 'Loại', stations: 'Trạm', farmers: 'Nông hộ',
  officers: 'Cán bộ', communeStations: 'Trạm đại diện xã', create: 'Tạo', save: 'Lưu', name: 'Tên', lat: 'Vĩ độ', lon: 'Kinh độ',
  elevation: 'Độ cao (m)', crop: 'Cây trồng', phone: 'Điện thoại', language: 'Ngôn ngữ', diacritics: 'SMS có dấu',
  contacts: 'Người liên hệ', addContact: 'Thêm người liên hệ', remove: 'Xoá', role: 'Vai trò', offset: 'Chênh lệch °C',
  importCsv: 'Nhập CSV', upload: 'Tải lên', row: 'Dòng', result: 'Kết quả', tokenOnce: 'Mã trạm — chỉ hiện một lần. Hãy sao chép ngay.',
  copy: 'Sao chép', copied: 'Đã sao chép', close: 'Đóng', created: 'Đã tạo', updated: 'Đã cập nhật', failed: 'Lỗi',
  date: 'Ngày', from: 'Từ', to: 'Đến', show: 'Xem', downloadCsv: 'Tải CSV', print: 'In', minAir: 'Thấp nhất °C', minAt: 'Lúc',
  hoursBelow2: 'giờ < 2 °C', hoursBelow0: 'giờ < 0 °C', hoursBelowM2: 'giờ < −2 °C', highest: 'Mức cao nhất', messages: 'Tin đã gửi',
  reach: 'Tỉ lệ nhận', leadTime: 'Báo trước (giờ)', loading: 'Đang tải…', noData: 'Không có dữ liệu.',
  readOnly: 'Chỉ xem', docs: 'Tài liệu API', health: 'Tình trạng', back: 'Quay lại', faults: 'Sự cố', open: 'Mở',
  stationIds: 'Trạm (cách nhau bởi dấu phẩy)', signInFailed: 'Đăng nhập thất bại', coldest: 'Nhiệt độ thấp nhất theo trạm',
  audit: 'Nhật ký thao tác', actor: 'Người thực hiện', action: 'Thao tác', target: 'Đối tượng', address: 'Địa chỉ', details: 'Chi tiết', older: 'Cũ hơn',
};

const DICTS: Record<Lang, Dict> = { vi: VI, en: EN };
const STORAGE_KEY = 'frostwatch.lang';

export function loadLang(): Lang {
  return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'vi';
}
export function saveLang(lang: Lang): void {
  localStorage.setItem(STORAGE_KEY, lang);
}

export type T = (key: Key) => string;
export const makeT = (lang: Lang): T => (key) => DICTS[lang][key];

export const I18n = createContext<{ lang: Lang; t: T }>({ lang: 'vi', t: makeT('vi') });
export const useT = (): T => useContext(I18n).t;
export const useLang = (): Lang => useContext(I18n).lang;

/** Dates shown in Asia/Ho_Chi_Minh: the stations' clock, wherever the officer's phone thinks it is. */
export function fmtTime(iso: string | number | null, lang: Lang, withDate = true): string {
  if (iso === null) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit',
    ...(withDate ? { day: '2-digit', month: '2-digit' } : {}),
  });
}
export const fmtC = (c: number | null | undefined): string => (c === null || c === undefined ? '—' : `${c.toFixed(1)} °C`);
