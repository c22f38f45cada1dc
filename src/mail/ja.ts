/** Japanese mail texts (敬体). */
import { type Draft, LOW_RECOVERY_CODES, assertNever, clean, code, count, deviceTypeLabel, facts, httpUrl, link, p, when } from './document.js';
import type { AdminAction, MailMessage } from './messages.js';
import { originRows } from './user-agent.js';

// ---------------------------------------------------------------------------------------------
// Japanese (敬体). Subjects carry the product name in 【】, as Japanese service mail usually does.

export function draftJa(msg: MailMessage, P: string, site: string): Draft {
  const adminNow = '至急、管理者にご連絡ください。';
  const noAction = 'ご本人による操作であれば、特に対応は必要ありません。';
  switch (msg.kind) {
    case 'email_code': {
      const minutes = count(msg.expiresInMinutes, 'expiresInMinutes');
      return {
        subject: `【${P}】サインイン用の確認コード`,
        preheader: `サインインを完了するための確認コードをお送りします。有効期限は${minutes}分です。`,
        blocks: [
          p(
            `${P}へのサインインを完了するには、次の確認コードを入力してください。` +
              `このコードの有効期限は${minutes}分で、一度だけ使用できます。`,
          ),
          code(clean(msg.code)),
          p(`確認コードは誰にも教えないでください。${P}の管理者が確認コードをお尋ねすることはありません。`),
          p(
            'サインインを試みた覚えがない場合は、第三者にパスワードを知られている可能性があります。' +
              '確認コードは入力せず、すみやかに次のURLからパスワードを変更してください。',
          ),
          link(site),
        ],
      };
    }
    case 'password_changed':
      return {
        subject: `【${P}】パスワードが変更されました`,
        preheader: `${P}アカウントのパスワードが変更されました。`,
        blocks: [
          p(`${P}アカウントのパスワードが変更されました。`),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p('ご本人による変更であれば、特に対応は必要ありません。'),
          p(`お心当たりがない場合は、第三者にアカウントを乗っ取られている可能性があります。${adminNow}`),
        ],
      };
    case 'mfa_device_added':
      return {
        subject: `【${P}】MFAデバイスが追加されました`,
        preheader: `${P}アカウントに多要素認証デバイスが追加されました。`,
        blocks: [
          p(`${P}アカウントに多要素認証（MFA）デバイスが追加されました。`),
          facts(
            ['デバイス名', clean(msg.deviceName)],
            ['種類', (msg.deviceLabel ? clean(msg.deviceLabel.ja) : deviceTypeLabel(msg.deviceType, 'ja'))],
            ['日時', when(msg.at, 'ja')],
            ...originRows(msg, 'ja'),
          ),
          p(noAction),
          p(
            'お心当たりがない場合は、第三者があなたのアカウントにサインインし、このデバイスを登録した可能性があります。' +
              `このデバイスでサインインされるおそれがあるため、${adminNow}`,
          ),
        ],
      };
    case 'mfa_device_removed':
      return {
        subject: msg.byAdmin ? `【${P}】管理者によりMFAデバイスが削除されました` : `【${P}】MFAデバイスが削除されました`,
        preheader: `${P}アカウントから多要素認証デバイスが削除されました。`,
        blocks: [
          p(
            msg.byAdmin
              ? `管理者により、${P}アカウントから多要素認証（MFA）デバイスが削除されました。` +
                  'このデバイスは今後サインインに使用できません。'
              : `${P}アカウントから多要素認証（MFA）デバイスが削除されました。`,
          ),
          facts(
            ['デバイス名', clean(msg.deviceName)],
            ['種類', (msg.deviceLabel ? clean(msg.deviceLabel.ja) : deviceTypeLabel(msg.deviceType, 'ja'))],
            ['日時', when(msg.at, 'ja')],
            ...originRows(msg, 'ja'),
          ),
          ...(msg.byAdmin
            ? [p('お心当たりがない場合は、管理者にお問い合わせください。')]
            : [
                p(noAction),
                p(`お心当たりがない場合は、第三者があなたのアカウントにアクセスしている可能性があります。${adminNow}`),
              ]),
        ],
      };
    case 'mfa_devices_reset': {
      const n = count(msg.count, 'count');
      return {
        subject: `【${P}】管理者によりMFAデバイスがすべて無効化されました`,
        preheader: `${P}アカウントのMFAデバイス${n}台は、今後サインインに使用できません。`,
        blocks: [
          p(
            `管理者により、${P}アカウントの多要素認証（MFA）デバイスがすべて（${n}台）無効化されました。` +
              'これらのデバイスとリカバリーコードは、今後サインインに使用できません。',
          ),
          facts(['日時', when(msg.at, 'ja')], msg.mfaSetupDeadline !== undefined && ['新しいMFAデバイスの割り当て期限', when(msg.mfaSetupDeadline, 'ja')]),
          p('次のURLからサインインし、新しいMFAデバイスを割り当ててください。'),
          link(site),
          p('お心当たりがない場合は、管理者にお問い合わせください。'),
        ],
      };
    }
    case 'recovery_code_used': {
      const left = count(msg.remaining, 'remaining');
      return {
        subject: `【${P}】リカバリーコードが使用されました`,
        preheader: `${P}アカウントへのサインインにリカバリーコードが使用されました。`,
        blocks: [
          p(
            `${P}アカウントへのサインインにリカバリーコードが使用されました。` +
              'リカバリーコードはそれぞれ一度しか使用できません。',
          ),
          facts(['日時', when(msg.at, 'ja')], ['残りのリカバリーコード', `${left}個`], ...originRows(msg, 'ja')),
          ...(left === 0
            ? [
                p(
                  'リカバリーコードがすべて使用済みになりました。このままではMFAデバイスを紛失した際にサインインできなくなります。' +
                    '今すぐ次のURLからサインインし、新しいリカバリーコードを生成してください。',
                ),
                link(site),
              ]
            : left <= LOW_RECOVERY_CODES
              ? [
                  p(
                    'リカバリーコードの残りが少なくなっています。' +
                      'お早めに次のURLからサインインし、新しいリカバリーコードを生成してください。',
                  ),
                  link(site),
                ]
              : []),
          p(
            'リカバリーコードを使用した覚えがない場合は、第三者があなたのパスワードとリカバリーコードを' +
              `入手している可能性があります。${adminNow}`,
          ),
        ],
      };
    }
    case 'account_locked': {
      const mfa = msg.reason === 'mfa';
      return {
        subject: mfa ? `【${P}】サインインがロックされました` : `【${P}】アカウントがロックされました`,
        preheader: mfa
          ? 'MFAコードの誤入力が続いたため、サインインがロックされました。'
          : 'パスワードの誤入力が続いたため、アカウントがロックされました。',
        blocks: [
          mfa
            ? p(
                `多要素認証（MFA）コードの誤入力が続いたため、${P}アカウントへのサインインがロックされました。` +
                  'これらの試行ではパスワードは正しく入力されていたため、ご本人による操作でない場合は、' +
                  '第三者にパスワードを知られている可能性があります。',
              )
            : p(`パスワードの誤入力が続いたため、${P}アカウントがロックされました。`),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          msg.hard
            ? p('このロックは管理者が解除するまで続きます。再びサインインできるようにするには、管理者にご連絡ください。')
            : p('ロックは一定時間が経過すると自動的に解除されます。お急ぎの場合は、管理者にご連絡ください。'),
          mfa
            ? p('お心当たりがない場合は、管理者にご連絡のうえ、パスワードの変更についてご相談ください。')
            : p(
                'お心当たりがない場合は、第三者があなたのアカウントへの不正なサインインを試みている可能性があります。' +
                  '管理者にお知らせください。',
              ),
        ],
      };
    }
    case 'invitation': {
      const hours = count(msg.expiresInHours, 'expiresInHours');
      return {
        subject: `【${P}】アカウント作成のご案内`,
        preheader: `${P}へのご招待です。メール内のリンクからアカウントを設定してください。`,
        blocks: [
          p(`${P}へのご招待が届いています。`),
          ...(msg.invitedBy !== undefined ? [facts(['招待者', clean(msg.invitedBy)])] : []),
          p('次のリンクを開き、アカウントの設定を完了してください。'),
          link(httpUrl(msg.link, 'link')),
          p(
            `このリンクの有効期限は${hours}時間で、一度だけ使用できます。` +
              'リンクを知っている人は誰でもアカウントを設定できてしまうため、このメールは転送しないでください。',
          ),
          p('お心当たりがない場合は、このメールを破棄してください。'),
        ],
      };
    }
    case 'security_key_clone_suspected':
      return {
        subject: `【${P}】セキュリティキーが複製された可能性があります`,
        preheader: `${P}アカウントのセキュリティキーに、複製されたキーの兆候が見つかりました。`,
        blocks: [
          p(
            `${P}アカウントへのサインインで、セキュリティキー「${clean(msg.deviceName)}」から、` +
              '以前より小さい署名カウンターの値が報告されました。正規のセキュリティキーではこの値は増える一方のため、' +
              'キーが複製（クローン）され、第三者がその複製を使用している可能性があります。',
          ),
          facts(['セキュリティキー', clean(msg.deviceName)], ['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p(`${adminNow}管理者による確認が済むまでは、このセキュリティキーは安全でないものとしてお取り扱いください。`),
        ],
      };
    case 'sign_in_after_failures': {
      const failures = count(msg.failures, 'failures');
      return {
        subject: `【${P}】サインインの失敗が続いた後にサインインがありました`,
        preheader: `${P}アカウントで、${failures}回の失敗の後にサインインがありました。`,
        blocks: [
          p(`${P}アカウントで、${failures}回のサインイン失敗の後にサインインが成功しました。`),
          facts(
            ['日時', when(msg.at, 'ja')],
            ...originRows(msg, 'ja'),
            ['直前の失敗回数', `${failures}回`],
          ),
          p('パスワードの入力ミスなど、ご本人によるものであれば、特に対応は必要ありません。'),
          p(
            'お心当たりがない場合は、第三者にパスワードを知られている可能性があります。' +
              'すぐに次のURLからパスワードを変更し、管理者にご連絡ください。',
          ),
          link(site),
        ],
      };
    }
    case 'recovery_codes_regenerated': {
      const codes = count(msg.count, 'count');
      return {
        subject: `【${P}】リカバリーコードが再生成されました`,
        preheader: `${P}アカウントのリカバリーコードが新しくなり、以前のコードは使用できなくなりました。`,
        blocks: [
          p(`${P}アカウントのリカバリーコードが${codes}個、新しく生成されました。以前のリカバリーコードは使用できなくなりました。`),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p('ご本人による操作であれば、新しいリカバリーコードを安全な場所に保管してください。ほかに対応は必要ありません。'),
          p(`お心当たりがない場合は、第三者があなたのパスワードと MFA デバイスを使ってサインインした可能性があります。${adminNow}`),
        ],
      };
    }
    case 'new_browser_sign_in':
      return {
        subject: `【${P}】新しいブラウザーからサインインがありました`,
        preheader: `${P}アカウントに、これまで使われていないブラウザーからサインインがありました。`,
        blocks: [
          p(`${P}アカウントに、これまでこのアカウントで使われたことのないブラウザーからサインインがありました。`),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p('新しいパソコンやスマートフォン、別のブラウザーの使用、Cookie の削除など、ご本人によるものであれば、特に対応は必要ありません。'),
          p(
            'お心当たりがない場合は、第三者があなたとしてサインインできる状態にあります。' +
              'すぐに次のURLからパスワードを変更し、MFA デバイスとサインイン中のセッションを確認したうえで、管理者にご連絡ください。',
          ),
          link(site),
        ],
      };
    case 'admin_action':
      return {
        subject: `【${P}】管理者によりアカウントが変更されました`,
        preheader: `管理者が${P}アカウントに変更を加えました。`,
        blocks: [
          p(`管理者により、${P}アカウントに次の変更が加えられました。`),
          ...msg.actions.map((a) => p(adminActionJa(a, msg.role))),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p('お心当たりのある変更であれば、特に対応は必要ありません。'),
          p('お心当たりがない場合は、このメールに返信するのではなく、普段お使いの連絡方法で管理者にお問い合わせください。'),
        ],
      };
    case 'lost_devices_link': {
      const minutes = count(msg.expiresInMinutes, 'expiresInMinutes');
      const hours = count(msg.coolingHours, 'coolingHours');
      return {
        subject: `【${P}】アカウントの復旧のご案内`,
        preheader: `MFA デバイスを使わずに${P}アカウントを復旧するためのリンクをお送りします。`,
        blocks: [
          p(`MFA デバイスを紛失したため、${P}アカウントへのアクセスを復旧したいというリクエストがありました。`),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p(`続行するには、次のリンクを開いてください。このリンクの有効期限は${minutes}分で、一度だけ使用できます。`),
          link(httpUrl(msg.link, 'link')),
          p(
            `安全のため、リンクを開くと${hours}時間の待機期間が始まります。待機期間が終わると、パスワードとこのアドレスに届く確認コードで` +
              'サインインできるようになり、新しい MFA デバイスを割り当てていただきます。その際、現在の MFA デバイスはすべて非アクティブ化されます。' +
              '待機期間中はいつでも取り消すことができます。',
          ),
          p(
            'お心当たりがない場合は、リンクを開かずにこのメールを破棄してください。アカウントはこれまでどおりです。' +
              '同様のメールが繰り返し届く場合は、管理者にお知らせください。',
          ),
        ],
      };
    }
    case 'recovery_started':
      return {
        subject: `【${P}】アカウントの復旧が開始されました`,
        preheader: '待機期間が終わると MFA デバイスを置き換えられるようになります。お心当たりがない場合はすぐに取り消してください。',
        blocks: [
          p(`${P}アカウントの復旧が開始されました。MFA デバイスを使わずにアクセスを復旧するためのリンクが開かれました。`),
          facts(['日時', when(msg.at, 'ja')], ['待機期間の終了', when(msg.until, 'ja')], ...originRows(msg, 'ja')),
          p(
            '待機期間が終わると、あなたのパスワードを知っていてこのメールボックスを読める人は誰でもサインインでき、' +
              '現在の MFA デバイスはすべて非アクティブ化されます。',
          ),
          p('ご本人による操作であれば、上記の日時まで待ってから、次のURLでパスワードとメールで届く確認コードを使用してサインインしてください。'),
          link(site),
          p('お心当たりがない場合は、すぐに次のリンクから復旧を取り消し、パスワードを変更したうえで管理者にご連絡ください。'),
          link(httpUrl(msg.cancelLink, 'cancelLink')),
          p('お手持ちの MFA デバイスでサインインした場合も、復旧は取り消されます。'),
        ],
      };
    case 'recovery_ended':
      return {
        subject: `【${P}】アカウントの復旧の待機期間が終了しました`,
        preheader: `パスワードとメールで届く確認コードで${P}にサインインし、新しい MFA デバイスを割り当てられるようになりました。`,
        blocks: [
          p(`${P}アカウントの復旧の待機期間が終了しました。`),
          facts(['日時', when(msg.at, 'ja')], ['復旧のリクエスト日時', when(msg.requestedAt, 'ja')], ...originRows(msg, 'ja')),
          p(
            '次のURLから、パスワードとメールで届く確認コードを使用してサインインできます。サインイン後、新しい MFA デバイスを' +
              '割り当てていただきます。以前の MFA デバイスは非アクティブ化されます。',
          ),
          link(site),
          p('お心当たりがない場合は、すぐに次のリンクから復旧を取り消し、管理者にご連絡ください。'),
          link(httpUrl(msg.cancelLink, 'cancelLink')),
        ],
      };
    case 'recovery_cancelled':
      return {
        subject: `【${P}】アカウントの復旧が取り消されました`,
        preheader: `${P}アカウントの復旧が取り消されました。MFA デバイスはこれまでどおりです。`,
        blocks: [
          p(
            msg.by === 'sign_in'
              ? `MFA デバイスを使用したサインインがあったため、${P}アカウントの復旧が取り消されました。MFA デバイスはこれまでどおりです。`
              : `${P}アカウントの復旧が取り消されました。MFA デバイスはこれまでどおりです。`,
          ),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p(msg.by === 'sign_in' ? 'ご本人によるサインインであれば、特に対応は必要ありません。' : noAction),
          ...(msg.by === 'sign_in'
            ? [p(`お心当たりがない場合は、第三者があなたのパスワードと MFA デバイスを入手している可能性があります。${adminNow}`)]
            : [
                p('お心当たりがない場合は、第三者があなたのアカウントにサインインしています。次のURLからパスワードを変更し、管理者にご連絡ください。'),
                link(site),
              ]),
        ],
      };
    case 'recovery_completed': {
      const devices = count(msg.devices, 'devices');
      return {
        subject: `【${P}】MFA デバイスが非アクティブ化されました`,
        preheader: `${P}アカウントが復旧され、MFA デバイスが非アクティブ化されました。`,
        blocks: [
          p(
            `アカウントの復旧の待機期間が終わった後、パスワードとメールで届いた確認コードを使用して${P}アカウントにサインインがありました。` +
              `MFA デバイス${devices}台が非アクティブ化されたため、新しい MFA デバイスを割り当てる必要があります。`,
          ),
          facts(['日時', when(msg.at, 'ja')], ...originRows(msg, 'ja')),
          p('ご本人による操作であれば、まだの場合はすぐに新しい MFA デバイスを割り当て、リカバリーコードを安全な場所に保管してください。'),
          p(`お心当たりがない場合は、第三者があなたのパスワードを知っていて、メールを読める状態にあります。${adminNow}`),
        ],
      };
    }
    default:
      return assertNever(msg);
  }
}

function adminActionJa(action: AdminAction, role: 'admin' | 'user' | undefined): string {
  switch (action) {
    case 'unlocked':
      return 'サインインのロックが解除され、失敗回数がリセットされました。';
    case 'disabled':
      return 'アカウントが無効化されました。サインインできなくなり、すべてのセッションが終了しました。';
    case 'enabled':
      return 'アカウントが再び有効になり、サインインできるようになりました。';
    case 'role_changed':
      return role === 'admin' ? 'ロールが管理者に変更されました。' : 'ロールが一般ユーザー（管理権限なし）に変更されました。';
    case 'renamed':
      return '表示名が変更されました。';
    case 'password_change_forced':
      return '次回のサインイン時に新しいパスワードを設定する必要があります。すべてのセッションが終了しました。';
  }
}
