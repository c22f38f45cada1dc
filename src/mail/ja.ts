/** Japanese mail texts (敬体). */
import { type Draft, LOW_RECOVERY_CODES, assertNever, clean, code, count, deviceTypeLabel, facts, httpUrl, link, p, when } from './document.js';
import type { MailMessage } from './messages.js';

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
          facts(
            ['日時', when(msg.at, 'ja')],
            msg.ip !== undefined && ['IPアドレス', clean(msg.ip)],
            msg.userAgent !== undefined && ['ブラウザー', clean(msg.userAgent)],
          ),
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
          ),
          ...(msg.byAdmin
            ? [p('お心当たりがない場合は、管理者にお問い合わせください。')]
            : [
                p(noAction),
                p(`お心当たりがない場合は、第三者があなたのアカウントにアクセスしている可能性があります。${adminNow}`),
              ]),
        ],
      };
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
          facts(['日時', when(msg.at, 'ja')], ['残りのリカバリーコード', `${left}個`]),
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
          facts(['日時', when(msg.at, 'ja')]),
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
          facts(['セキュリティキー', clean(msg.deviceName)], ['日時', when(msg.at, 'ja')]),
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
            msg.ip !== undefined && ['IPアドレス', clean(msg.ip)],
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
    default:
      return assertNever(msg);
  }
}
