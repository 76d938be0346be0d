# language: pt
Funcionalidade: Acesso da equipe
  Cada pessoa da clínica entra com a própria conta. A administradora convida a equipe; quem é
  convidado escolhe a senha uma única vez; contas desativadas não entram; senhas erradas
  demais bloqueiam a conta por um tempo; quem quiser liga a verificação em duas etapas.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a administradora Rita tem conta com a senha "senha da rita 123"

  Cenário: A pessoa convidada escolhe a senha e entra
    Quando Rita convida a secretária Ana (ana@clinica.com.br)
    E Ana aceita o convite com a senha "senha da ana 123"
    Então Ana entra com ana@clinica.com.br e a senha "senha da ana 123"
    E o convite de Ana não serve mais

  Cenário: Um convite vence em sete dias
    Quando Rita convida a secretária Ana (ana@clinica.com.br)
    E passam 8 dias
    E Ana aceita o convite com a senha "senha da ana 123"
    Então o acesso é recusado com "credenciais inválidas"

  Cenário: Uma conta desativada não entra
    Dado que Rita convidou a secretária Ana (ana@clinica.com.br) e ela escolheu a senha "senha da ana 123"
    Quando Rita desativa a conta de Ana
    E Ana tenta entrar com ana@clinica.com.br e a senha "senha da ana 123"
    Então o acesso é recusado com "credenciais inválidas"

  Cenário: A clínica sempre tem uma administradora
    Quando Rita tenta desativar a própria conta
    Então o pedido é recusado porque a clínica precisa de uma administradora

  Cenário: Seis senhas erradas em um minuto bloqueiam a conta por 15 minutos
    Dado que Rita convidou a secretária Ana (ana@clinica.com.br) e ela escolheu a senha "senha da ana 123"
    Quando Ana erra a senha 6 vezes em um minuto
    Então o acesso é recusado com "conta bloqueada"
    E o registro de auditoria mostra o bloqueio da conta de Ana
    Quando passam 15 minutos
    Então Ana entra com ana@clinica.com.br e a senha "senha da ana 123"

  Cenário: Com a verificação em duas etapas, a senha sozinha não basta
    Dado que Rita ligou a verificação em duas etapas
    Quando Rita tenta entrar com rita@clinica.com.br e a senha "senha da rita 123"
    Então o acesso pede o código do aplicativo
    Quando Rita entra com a senha e o código do aplicativo
    Então Rita está dentro
    E o mesmo código não serve de novo
