/**
 * The strftime subset log_timestamp_format needs (Mosquitto passes it to C's strftime in local
 * time): %Y %y %m %d %e %H %M %S %j %b %a %T %F %z %s %%. Other conversions are copied as they are.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pad(n: number, width = 2, fill = '0'): string {
  return String(n).padStart(width, fill);
}

function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000) + 1;
}

function zone(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

function conversion(c: string, d: Date): string | undefined {
  switch (c) {
    case 'Y': return String(d.getFullYear());
    case 'y': return pad(d.getFullYear() % 100);
    case 'm': return pad(d.getMonth() + 1);
    case 'd': return pad(d.getDate());
    case 'e': return pad(d.getDate(), 2, ' ');
    case 'H': return pad(d.getHours());
    case 'M': return pad(d.getMinutes());
    case 'S': return pad(d.getSeconds());
    case 'j': return pad(dayOfYear(d), 3);
    case 'b': return MONTHS[d.getMonth()];
    case 'a': return DAYS[d.getDay()];
    case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    case 'z': return zone(d);
    case 's': return String(Math.floor(d.getTime() / 1000));
    case '%': return '%';
    default: return undefined;
  }
}

export function strftime(format: string, date: Date): string {
  return format.replace(/%(.)/g, (whole, c: string) => conversion(c, date) ?? whole);
}
