import { signal } from '@preact/signals';

const toast = signal('');
let timer: ReturnType<typeof setTimeout> | undefined;

/** A short confirmation ("MFA device removed"), read out politely and gone after a while. */
export function announce(text: string): void {
  toast.value = text;
  clearTimeout(timer);
  timer = setTimeout(() => {
    toast.value = '';
  }, 6000);
}

/** The live region that speaks `announce`; mounted once by the app shell. */
export function Toast() {
  return (
    <div class="toast" role="status" aria-live="polite">
      {toast.value}
    </div>
  );
}
